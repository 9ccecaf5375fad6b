"""The ``.gitignore`` pattern language, for ``.gitignore``/``.imagebotignore`` files and ``ignore=``.

A thin adapter over ``pathspec``'s :class:`~pathspec.GitIgnoreSpec` (gitignore(5) as git itself
behaves: comments, escapes, trailing spaces, ``!`` negation, anchoring, directory-only patterns,
``**``; the last matching pattern wins) — the only import of ``pathspec``. Hierarchy (deeper
files override, an excluded directory is never re-entered) is the walker's job,
:mod:`imagebot.setters._files`; ``tests/setters/test_files.py`` checks the result against
``git ls-files --exclude-standard``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pathspec

__all__ = ["Rules", "compile_rules", "match"]

Rules = pathspec.GitIgnoreSpec
"""The compiled rules of one pattern file."""


def compile_rules(lines: Iterable[str]) -> Rules:
    """The rules of one pattern file, in order; blank lines and comments dropped."""
    return pathspec.GitIgnoreSpec.from_lines([line.rstrip("\r\n") for line in lines])


def match(rules: Rules, path: str, *, is_dir: bool) -> bool | None:
    """``True`` ignored, ``False`` re-included, ``None`` no rule matched ``path``.

    ``path`` is POSIX and relative to the directory holding the pattern file.
    """
    if not rules.patterns:
        return None
    # a trailing slash is how pathspec tells a directory from a file (for `dir/` patterns)
    return rules.check_file(f"{path}/" if is_dir else path).include
