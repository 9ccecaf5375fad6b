"""Go-compatible regular expressions for ``filterTags.pattern`` and exclusion lists.

The ONLY import of ``re2`` (google-re2): Flux compiles these patterns with Go's ``regexp``, which
is RE2, so ``(?<name>…)``, ``[[:digit:]]`` and ``\\z`` work and look-arounds are errors, exactly
as in Flux. A bottom-layer module because two stages need it: :mod:`imagebot.scan` (exclusion
lists) and :mod:`imagebot.policy` (filters, :func:`imagebot.policy.exclude`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from typing import Any

import re2

__all__ = ["InvalidPattern", "Pattern", "Spans", "compile_pattern"]

Spans = tuple[tuple[int, int], ...]
"""``(start, end)`` per group, group 0 first; ``(-1, -1)`` for a group that did not take part."""


class InvalidPattern(ValueError):
    """The pattern is not a valid Go regular expression; the message is RE2's reason."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print parse errors to stderr itself
    return options


_OPTIONS = _options()
_UNANCHORED = re2._Anchor.UNANCHORED


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Pattern:
    text: str
    names: tuple[str, ...]
    """The name of each group by index (``""`` when unnamed); index 0 is the whole match."""
    _compiled: Any
    _raw: Any
    prefix: str = ""
    """Text every match starts the subject with (``^main-`` → ``main-``); ``""`` when unknown."""

    def search(self, subject: str) -> Spans | None:
        """Leftmost-first search anywhere in ``subject`` (not a full match), as Go's ``FindIndex``."""
        if subject.isascii():
            # the fast path: byte offsets are character offsets, and re2's generic wrapper
            # costs ~3 µs a call where the bare Match costs ~0.5 µs (100k tags per repository)
            data = subject.encode()
            spans = self._raw.Match(_UNANCHORED, data, 0, len(data))
            return None if spans[0][0] < 0 else tuple(spans)
        match = self._compiled.search(subject)
        return None if match is None else tuple(match.span(i) for i in range(len(self.names)))


    def search_all(self, subjects: Iterable[str]) -> list[Spans | None]:
        """``[self.search(s) for s in subjects]`` without a Python call per ASCII subject."""
        match, search, anchor, prefix = self._raw.Match, self.search, _UNANCHORED, self.prefix
        found: list[Spans | None] = []
        append = found.append
        for subject in subjects:
            if prefix and not subject.startswith(prefix):  # cannot match: no call into re2
                append(None)
            elif subject.isascii():
                data = subject.encode()
                spans = match(anchor, data, 0, len(data))
                append(None if spans[0][0] < 0 else tuple(spans))
            else:
                append(search(subject))
        return found


def _group_names(pattern: str) -> list[str]:
    """Capture group names in order, duplicates included (RE2 only reports the leftmost)."""
    names: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if pattern.startswith("\\Q", i):
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
            else:
                i += 2
        elif in_class:
            if pattern.startswith("[:", i) and pattern.find(":]", i + 2) >= 0:
                i = pattern.find(":]", i + 2) + 2
            else:
                in_class = c != "]"
                i += 1
        elif c == "[":
            in_class, i = True, i + 1
            i += 1 if pattern.startswith("^", i) else 0
            i += 1 if pattern.startswith("]", i) else 0
        elif pattern.startswith(("(?P<", "(?<"), i):
            start = pattern.index("<", i) + 1
            end = pattern.find(">", start)
            names.append(pattern[start:end])
            i = end + 1 if end >= 0 else n
        elif pattern.startswith("(?", i):
            i += 2
        else:
            if c == "(":
                names.append("")
            i += 1
    return names


_LITERAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:/=,@%")


def _anchored_prefix(pattern: str) -> str:
    """The literal text a ``^``-anchored pattern without alternation must start its subject with:
    plain characters and ``\\.`` up to the first metacharacter, minus the last one if a
    quantifier follows (``^ab?`` → ``a``). Anything less plain gives ``""`` (no shortcut)."""
    if not pattern.startswith("^") or "|" in pattern:
        return ""
    chars: list[str] = []
    i = 1
    while i < len(pattern):
        if pattern[i] in _LITERAL:
            chars.append(pattern[i])
            i += 1
        elif pattern.startswith("\\.", i):
            chars.append(".")
            i += 2
        else:
            break
    if i < len(pattern) and pattern[i] in "?*+{" and chars:
        chars.pop()
    return "".join(chars)


def _reject_non_go(pattern: str) -> None:
    i = 0
    while i < len(pattern):
        if pattern.startswith("\\Q", i):
            end = pattern.find("\\E", i + 2)
            i = len(pattern) if end < 0 else end + 2
        elif pattern.startswith("\\C", i):
            # RE2 accepts \C (any byte); Go's regexp rejects it, so Flux would too
            raise InvalidPattern("invalid escape sequence: \\C")
        else:
            i += 2 if pattern[i] == "\\" else 1


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Pattern:
    """Compile ``pattern`` with Go semantics; raises :class:`InvalidPattern` with the reason."""
    _reject_non_go(pattern)
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise InvalidPattern(str(reason)) from None
    raw = compiled._regexp
    names = ["", *_group_names(pattern)]
    if len(names) != raw.NumberOfCapturingGroups() + 1:  # our scan misread the pattern
        names = [""] * (raw.NumberOfCapturingGroups() + 1)
        for name, index in raw.NamedCapturingGroups():
            names[index] = name.decode() if isinstance(name, bytes) else name
    return Pattern(pattern, tuple(names), compiled, raw, _anchored_prefix(pattern))
