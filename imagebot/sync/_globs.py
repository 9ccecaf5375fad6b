"""The two glob dialects of Argo CD's git generator, on repository-relative paths.

* ``directories`` use Go's ``path.Match``: ``*`` and ``?`` stop at ``/``, ``[abc]``, ``[a-z]``,
  ``[^x]`` classes, ``\\`` escapes; a malformed pattern (``[a-``) is an error.
* ``files`` use ``git ls-files -- PATTERN`` (Argo CD's default globbing): a git pathspec, whose
  wildcards match across ``/`` (``cluster-config/*/config.json`` also finds
  ``cluster-config/a/b/config.json`` — the "greedy" behaviour Argo CD documents), and a pattern
  without wildcards names a file or everything below a directory.

Used by :mod:`imagebot.sync._generators`.
"""

from __future__ import annotations

import functools
import re

__all__ = ["BadPattern", "go_path_match", "pathspec_match"]


class BadPattern(ValueError):
    """The glob is malformed (Go's ``path.ErrBadPattern``)."""


def _class(pattern: str, start: int, *, slash: bool) -> tuple[str, int]:
    """Translate ``[...]`` at ``pattern[start]``; returns the regex and the index after ``]``."""
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "^!" if not slash else i < len(pattern) and pattern[i] == "^"
    if negate:
        i += 1
    items: list[str] = []
    first = True
    while True:
        if i >= len(pattern):
            raise BadPattern(f"{pattern!r}: unclosed [")
        char = pattern[i]
        if char == "]" and not first:
            i += 1
            break
        if char == "]" and slash:
            raise BadPattern(f"{pattern!r}: empty []")
        first = False
        low, i = _class_char(pattern, i)
        if i < len(pattern) and pattern[i] == "-":
            if i + 1 >= len(pattern) or pattern[i + 1] == "]":
                raise BadPattern(f"{pattern!r}: a range in [] has no end")
            high, i = _class_char(pattern, i + 1)
            if high < low:
                raise BadPattern(f"{pattern!r}: range {low}-{high} is reversed")
            items.append(f"{re.escape(low)}-{re.escape(high)}")
        else:
            items.append(re.escape(low))
    body = "".join(items)
    return (f"[^{body}]" if negate else f"[{body}]"), i


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    if pattern[i] == "\\":
        if i + 1 >= len(pattern):
            raise BadPattern(f"{pattern!r}: trailing \\")
        return pattern[i + 1], i + 2
    return pattern[i], i + 1


@functools.lru_cache(maxsize=256)
def _compile(pattern: str, *, slash: bool) -> re.Pattern[str]:
    out: list[str] = []
    any_char = "[^/]" if slash else "."
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append(any_char + "*")
            i += 1
        elif char == "?":
            out.append(any_char)
            i += 1
        elif char == "[":
            translated, i = _class(pattern, i, slash=slash)
            out.append(translated)
        elif char == "\\" and slash:
            if i + 1 >= len(pattern):
                raise BadPattern(f"{pattern!r}: trailing \\")
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def go_path_match(pattern: str, name: str) -> bool:
    """Go's ``path.Match(pattern, name)``; raises :class:`BadPattern` for a malformed pattern."""
    return _compile(pattern, slash=True).fullmatch(name) is not None


def pathspec_match(pattern: str, path: str) -> bool:
    """Whether git's pathspec ``pattern`` selects the repository file ``path``."""
    spec = pattern.lstrip("/")
    if spec.startswith("./"):
        spec = spec[2:]
    if spec in ("", "."):
        return True
    if not any(c in spec for c in "*?["):
        return path == spec.rstrip("/") or path.startswith(spec.rstrip("/") + "/")
    return _compile(spec, slash=False).fullmatch(path) is not None
