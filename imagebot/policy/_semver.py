"""Versions as Flux reads tags (fluxcd/pkg ``ParseVersion`` + Masterminds ``NewVersion``).

The ONLY import of the ``semver`` library. Called by :mod:`imagebot.policy._constraints` (bound
versions) and :mod:`imagebot.policy._ordering` (the semver policy).

A parsed version is a plain tuple ``(major, minor, patch, release, prerelease)`` whose tuple order
*is* Masterminds' precedence: ``release`` is 1 for a release and 0 for a prerelease (a release
outranks its own prereleases), and each prerelease identifier is ``(0, int)`` when Go's
``ParseUint`` accepts it and ``(1, text)`` otherwise (numeric < alphanumeric, shorter < longer).
Why not ``semver.Version`` on the hot path: building and comparing 100,000 of them costs about a
second (benchmarks/policy.py), and it rejects what Flux accepts (``01.02.03``, ``v1.2.3``,
``1.2-rc.1``). The library renders normalised versions for the explain trace, and the tests use
its ``compare`` as an oracle for the tuple order.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

__all__ = ["Version", "is_prerelease", "normalise", "parse_lenient", "parse_tag", "parse_tags"]

PreId = tuple[int, int] | tuple[int, str]
Version = tuple[int, int, int, int, tuple[PreId, ...]]

_UINT64_MAX = 2**64 - 1
_ID = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
# Masterminds' looseSemVerRegex; [0-9] (not \d) because Go's classes are ASCII-only.
_LOOSE = re.compile(rf"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-({_ID}))?(?:\+{_ID})?")
# The common case, a plain release: two dots, no prerelease or build, and at most 19 digits a
# part, so every part fits in a uint64 without checking (10**19 - 1 < 2**64 - 1).
_RELEASE_LINES = re.compile(r"^(v?([0-9]{1,19})\.([0-9]{1,19})\.([0-9]{1,19}))$", re.MULTILINE)


def _number(digits: str | None) -> int | None:
    if digits is None:
        return 0
    value = int(digits)
    return value if value <= _UINT64_MAX else None


def _prerelease(text: str) -> tuple[PreId, ...] | None:
    ids: list[PreId] = []
    for part in text.split("."):
        if part.isdigit():  # the regex admits ASCII only, so isdigit() is [0-9]+
            if len(part) > 1 and part[0] == "0":
                return None  # Masterminds validatePrerelease: no leading zeros
            value = int(part)
            ids.append((0, value) if value <= _UINT64_MAX else (1, part))
        else:
            ids.append((1, part))
    return tuple(ids)


def parse_lenient(text: str) -> Version | None:
    """Masterminds ``NewVersion`` in its default coerce mode: ``1``, ``v1.2``, ``01.02.03-rc.1``."""
    m = _LOOSE.fullmatch(text)
    if m is None:
        return None
    major, minor, patch, pre = m.groups()
    numbers = (_number(major), _number(minor), _number(patch))
    if numbers[0] is None or numbers[1] is None or numbers[2] is None:
        return None
    if pre is None:
        return (numbers[0], numbers[1], numbers[2], 1, ())
    ids = _prerelease(pre)
    if ids is None:
        return None
    return (numbers[0], numbers[1], numbers[2], 0, ids)


def parse_tag(tag: str) -> Version | None:
    """A tag as Flux's semver policy reads it, or ``None`` when Flux silently skips it.

    The tag needs at least two dots anywhere (``1.2`` no, ``1.2-rc.1`` yes), then the lenient
    grammar: lowercase ``v`` only, leading zeros ignored, numeric parts fit in a uint64.
    """
    if tag.count(".") < 2:
        return None
    return parse_lenient(tag)


def parse_tags(values: Sequence[str]) -> tuple[Sequence[str], list[Version | None]]:
    """Each value with ``parse_tag``'s answer, in some order (plain releases first).

    Plain releases, most of a real tag list, are found and converted in C: one regex over all
    values joined by newlines, then ``map(int, ...)``; only the rest go through ``parse_tag``.
    100,000 tags take a third of the time of a loop over ``parse_tag``.
    """
    joined = "\n".join(values)
    found = _RELEASE_LINES.findall(joined) if joined.count("\n") == len(values) - 1 else []
    if not found:  # nothing plain, or a value with a newline in it (``extract`` can make one)
        return values, [parse_tag(value) for value in values]
    texts, majors, minors, patches = zip(*found, strict=True)
    versions: list[Version | None] = list(
        zip(map(int, majors), map(int, minors), map(int, patches), itertools.repeat(1), itertools.repeat(()))
    )
    plain = set(texts)
    rest = [value for value in values if value not in plain]
    return [*texts, *rest], versions + [parse_tag(value) for value in rest]


def is_prerelease(version: Version) -> bool:
    return version[3] == 0


def normalise(version: Version) -> str:
    """The canonical text of a version (``01.02.03`` → ``1.2.3``), for explanations."""
    major, minor, patch, _, ids = version
    pre = ".".join(str(value) for _, value in ids) or None
    import semver  # only explanations need it: not imported at start-up (issue 9)

    return str(semver.Version(major, minor, patch, prerelease=pre))
