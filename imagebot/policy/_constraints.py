"""Masterminds semver v3 constraints (``>=1.2 <2 || ^3.0.0-0``), as Flux's semver policy checks them.

Called by :mod:`imagebot.policy._ordering`. A port of Masterminds/semver ``constraints.go``
(3.4+, spec §4): hyphen ranges rewritten first, ``||`` split, each AND-group split with the
library's hand-written scanner (``handSplitGroup``), wildcard/partial versions marked "dirty",
and one predicate per operator with the library's quirks kept (``<=*`` is ``<0.1.0``,
``^*`` only admits 0.0.0, ``>1.2`` means ``>=1.3.0``). A version with a prerelease can only
satisfy an AND-group in which some constraint names a prerelease.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
from collections.abc import Callable

from imagebot.policy._semver import Version, parse_lenient

__all__ = ["Constraints", "InvalidConstraint", "parse"]


class InvalidConstraint(ValueError):
    """The range text is not a Masterminds constraint; the message says which part."""


_WS = "\t\n\f\r "  # Go's \s
_SEGMENT = frozenset("0123456789xX*|")  # cvRegex's odd segment class [0-9|x|X|\*]
_IDENT = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")
_OPS = ("=", "", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^")  # regex alternation order
_CV = (
    r"v?([0-9|xX*]+)(\.[0-9|xX*]+)?(\.[0-9|xX*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_RANGE = re.compile(rf"[{_WS}]*({_CV})[{_WS}]+-[{_WS}]+({_CV})[{_WS}]*")

Check = Callable[[Version], bool]


@dataclasses.dataclass(frozen=True, slots=True)
class _Group:
    checks: tuple[Check, ...]
    prerelease: bool
    """Some constraint of this AND-group names a prerelease, so prereleases may match it."""


@dataclasses.dataclass(frozen=True, slots=True)
class Constraints:
    text: str
    groups: tuple[_Group, ...]

    @property
    def admits_prereleases(self) -> bool:
        return any(group.prerelease for group in self.groups)

    def check(self, version: Version) -> bool:
        prerelease = version[3] == 0
        for group in self.groups:
            if prerelease and not group.prerelease:
                continue
            for check in group.checks:  # a plain loop: all(<genexpr>) costs 2x on 100k tags
                if not check(version):
                    break
            else:
                return True
        return False


def _rewrite_ranges(text: str) -> str:
    out = text
    for m in _RANGE.finditer(text):
        # Go: strings.Replace(o, v[0], t, 1) — the first occurrence, wherever it is now
        out = out.replace(m.group(0), f">= {m.group(1)}, <= {m.group(11)} ", 1)
    return out


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in _WS:
        i += 1
    return i


def _scan_segments(s: str, i: int) -> int:
    while i < len(s) and s[i] in _SEGMENT:
        i += 1
    return i


def _scan_ident(s: str, start: int) -> int:
    """End of ``[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*`` at ``start`` (``start`` itself if none)."""
    i = start
    while i < len(s) and s[i] in _IDENT:
        i += 1
    if i == start:
        return start
    while i < len(s) and s[i] == ".":
        k = i + 1
        while k < len(s) and s[k] in _IDENT:
            k += 1
        if k == i + 1:
            break
        i = k
    return i


def _version_end(s: str, start: int) -> tuple[int, list[str]] | None:
    """Scan cvRegex at ``start``: end offset and ``[major, .minor, .patch, -pre]``."""
    i = start + 1 if s.startswith("v", start) else start
    if i >= len(s) or s[i] not in _SEGMENT:
        return None
    parts: list[str] = []
    j = _scan_segments(s, i)
    parts.append(s[i:j])
    i = j
    for _ in range(2):
        if i < len(s) and s[i] == ".":
            if i + 1 >= len(s) or s[i + 1] not in _SEGMENT:
                return None
            j = _scan_segments(s, i + 1)
            parts.append(s[i:j])
            i = j
        else:
            parts.append("")
    pre = ""
    if i < len(s) and s[i] == "-":
        j = _scan_ident(s, i + 1)
        if j == i + 1:
            return None
        pre, i = s[i:j], j
    parts.append(pre)
    if i < len(s) and s[i] == "+":
        j = _scan_ident(s, i + 1)
        if j == i + 1:
            return None
        i = j
    return i, parts


def _atom(s: str, start: int) -> tuple[int, str, str, list[str]] | None:
    """The operator+version atom at ``start``: (end, op, version text, parts)."""
    i = _skip_ws(s, start)
    for op in _OPS:
        if not s.startswith(op, i):
            continue
        j = _skip_ws(s, i + len(op))
        scanned = _version_end(s, j)
        if scanned is not None:
            return scanned[0], op, s[j : scanned[0]], scanned[1]
    return None


def _split_group(group: str) -> list[tuple[str, str, list[str]]]:
    first = _atom(group, 0)
    if first is None:
        raise InvalidConstraint(f"improper constraint: {group.strip()!r}")
    end, op, version, parts = first
    atoms = [(op, version, parts)]
    while end < len(group):
        q = _skip_ws(group, end)
        if q == len(group):
            break
        if group[q] == ",":
            nxt = _atom(group, q + 1)
        elif q == end:  # atoms directly adjacent: ">=1<2"
            nxt = None
        else:
            nxt = _atom(group, q)
        if nxt is None:
            raise InvalidConstraint(f"improper constraint: {group.strip()!r}")
        end, op, version, parts = nxt
        atoms.append((op, version, parts))
    return atoms


def _is_x(part: str) -> bool:
    return part in ("x", "X", "*")


def _constraint(op: str, text: str, parts: list[str]) -> tuple[Check, bool]:
    major, minor, patch, pre = parts
    minor_dirty = patch_dirty = dirty = False
    ver = text
    if _is_x(major):
        ver, dirty = f"0.0.0{pre}", True
    elif _is_x(minor[1:]) or minor == "":
        ver, dirty, minor_dirty = f"{major}.0.0{pre}", True, True
    elif _is_x(patch[1:]) or patch == "":
        ver, dirty, patch_dirty = f"{major}{minor}.0{pre}", True, True
    con = parse_lenient(ver)
    if con is None:
        raise InvalidConstraint(f"improper constraint: {op}{text!r} is not a version")
    return _predicate(op, con, dirty, minor_dirty, patch_dirty), con[3] == 0


def _predicate(op: str, c: Version, dirty: bool, minor_dirty: bool, patch_dirty: bool) -> Check:
    cmaj, cmin, cpat = c[0], c[1], c[2]
    # operator.* bound to ``c`` run without a Python frame: `partial(le, c)(v)` is `c <= v`
    if op in ("", "="):
        if dirty:
            return _predicate("~", c, dirty, minor_dirty, patch_dirty)
        return functools.partial(operator.eq, c)
    if op == "!=":
        def not_equal(v: Version) -> bool:
            if dirty:
                if cmaj != v[0]:
                    return True
                if cmin != v[1] and not minor_dirty:
                    return True
                if minor_dirty:
                    return False
                if cpat != v[2] and not patch_dirty:
                    return True
                if patch_dirty:
                    return v[4] != c[4]
            return v != c
        return not_equal
    if op == ">" and not dirty:
        return functools.partial(operator.lt, c)
    if op == ">":
        def greater(v: Version) -> bool:
            if not dirty:
                return v > c
            if v[0] != cmaj:
                return v[0] > cmaj
            if minor_dirty:
                return False
            if patch_dirty:
                return v[1] > cmin
            return v > c
        return greater
    if op == "<":
        return functools.partial(operator.gt, c)
    if op in (">=", "=>"):
        return functools.partial(operator.le, c)
    if op in ("<=", "=<"):
        if not dirty:
            return functools.partial(operator.ge, c)
        return lambda v: not (v[0] > cmaj or (v[0] == cmaj and v[1] > cmin and not minor_dirty))
    if op in ("~", "~>"):
        any_version = cmaj == cmin == cpat == 0 and not minor_dirty and not patch_dirty
        return lambda v: v >= c and (
            any_version or (v[0] == cmaj and (minor_dirty or v[1] == cmin))
        )
    # "^"
    def caret(v: Version) -> bool:
        if v < c:
            return False
        if cmaj > 0 or minor_dirty:
            return v[0] == cmaj
        if v[0] > 0:
            return False
        if cmin > 0 or patch_dirty:
            return v[1] == cmin
        return v[1] == 0 and v[2] == cpat
    return caret


@functools.lru_cache(maxsize=256)
def parse(text: str) -> Constraints:
    """Parse a ``semver.range``; raises :class:`InvalidConstraint` with the offending part."""
    groups: list[_Group] = []
    for group in _rewrite_ranges(text).split("||"):
        checks: list[Check] = []
        prerelease = False
        for op, version, parts in _split_group(group):
            check, names_prerelease = _constraint(op, version, parts)
            checks.append(check)
            prerelease = prerelease or names_prerelease
        groups.append(_Group(tuple(checks), prerelease))
    return Constraints(text, tuple(groups))
