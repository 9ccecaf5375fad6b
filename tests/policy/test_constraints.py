"""The Masterminds v3 constraint grammar, row by row (spec §4.1–4.3, surprises 6 and 7 of §9).

Aspects: which range texts parse, what every operator/wildcard row admits and rejects, the
library quirks kept on purpose, and the prerelease rule per ``||`` alternative.
"""

from __future__ import annotations

import pytest
from _pytest.mark import ParameterSet

from imagebot.policy import _constraints, _semver


def admits(range_text: str, tag: str) -> bool:
    version = _semver.parse_tag(tag)
    assert version is not None, f"test data: {tag!r} must be a version"
    return _constraints.parse(range_text).check(version)


# (range, admitted tags, rejected tags) — one row per line of the spec tables
ROWS: list[tuple[str, list[str], list[str]]] = [
    # §4.1 operators and separators
    (">=1.0 <2", ["1.0.0", "1.9.9"], ["0.9.9", "2.0.0"]),
    (">=1.0, <2", ["1.5.0"], ["2.0.0"]),
    (">=1.0 , <2", ["1.5.0"], ["2.1.0"]),
    (">= 1.0", ["1.0.0"], ["0.9.0"]),
    ("=>1.2.3", ["1.2.3"], ["1.2.2"]),
    ("=<1.2.3", ["1.2.3"], ["1.2.4"]),
    (">1.2.3", ["1.2.4"], ["1.2.3"]),
    ("<1.2.3", ["1.2.2"], ["1.2.3"]),
    ("!=1.2.3", ["1.2.4", "1.2.2"], ["1.2.3"]),
    ("1.0.0 || 2.0.0", ["1.0.0", "2.0.0"], ["1.5.0"]),
    ("1.2 - 2.3", ["1.2.0", "2.3.9"], ["1.1.9", "2.4.0"]),
    ("1.2.3 - 2.3.4", ["1.2.3", "2.3.4"], ["1.2.2", "2.3.5"]),
    ("1.2.3-2.3.4", ["1.2.3-2.3.4"], ["1.2.3", "2.3.4"]),
    (">=2022.04.0", ["2022.04.1", "2022.4.0"], ["2022.03.9"]),
    ("v1.2.3", ["1.2.3", "v1.2.3"], ["1.2.4"]),
    # §4.2 wildcards and partial versions
    ("1.2.3", ["1.2.3", "1.2.3+build.7"], ["1.2.4", "1.2.2"]),
    ("=1.2.3", ["1.2.3"], ["1.2.4"]),
    ("1.2", ["1.2.0", "1.2.9"], ["1.1.9", "1.3.0"]),
    ("=1.2", ["1.2.5"], ["1.3.0"]),
    ("1.2.x", ["1.2.0", "1.2.9"], ["1.3.0"]),
    ("1", ["1.0.0", "1.9.9"], ["0.9.9", "2.0.0"]),
    ("1.x", ["1.9.0"], ["2.0.0"]),
    ("1.*", ["1.0.0"], ["2.0.0"]),
    ("1.x.3", ["1.0.0", "1.9.9"], ["2.0.0"]),
    ("*", ["0.0.0", "1.2.3", "99.0.0"], []),
    ("x", ["0.0.0", "7.7.7"], []),
    ("X", ["3.0.0"], []),
    ("~*", ["0.0.0", "5.0.0"], []),
    ("=*", ["0.0.1", "5.0.0"], []),
    (">=*", ["0.0.0", "5.0.0"], []),
    ("!=1.2", ["1.1.9", "1.3.0"], ["1.2.0", "1.2.7"]),
    ("!=1.2.x", ["1.3.0"], ["1.2.7"]),
    ("!=1", ["2.0.0", "0.9.0"], ["1.0.0", "1.5.5"]),
    (">1.2", ["1.3.0"], ["1.2.9", "1.2.0"]),
    (">1", ["2.0.0"], ["1.9.9"]),
    (">0", ["1.0.0"], ["0.9.9"]),
    (">=1.2", ["1.2.0"], ["1.1.9"]),
    ("<1.2", ["1.1.9"], ["1.2.0"]),
    ("<1.x", ["0.9.9"], ["1.0.0"]),
    ("<=1.2", ["1.2.9", "0.1.0"], ["1.3.0"]),
    ("<=1", ["1.9.9"], ["2.0.0"]),
    ("~1.2.3", ["1.2.3", "1.2.9"], ["1.2.2", "1.3.0"]),
    ("~>1.2.3", ["1.2.9"], ["1.3.0"]),
    ("~1.2", ["1.2.0", "1.2.9"], ["1.1.9", "1.3.0"]),
    ("~1", ["1.0.0", "1.9.9"], ["2.0.0"]),
    ("~0.0.0", ["0.0.0", "5.4.3"], []),
    ("^1.2.3", ["1.2.3", "1.9.9"], ["1.2.2", "2.0.0"]),
    ("^1.2", ["1.2.0", "1.9.9"], ["1.1.9", "2.0.0"]),
    ("^0.2.3", ["0.2.3", "0.2.9"], ["0.2.2", "0.3.0"]),
    ("^0.0.3", ["0.0.3"], ["0.0.2", "0.0.4", "0.1.0"]),
    ("^0.0", ["0.0.0", "0.0.9"], ["0.1.0"]),
    ("^0", ["0.0.0", "0.9.9"], ["1.0.0"]),
    # §4.2 library quirks, kept on purpose
    ("^*", ["0.0.0"], ["0.0.1", "0.1.0", "1.0.0"]),
    ("!=*", ["0.0.1", "1.0.0"], ["0.0.0"]),
    ("<*", [], ["0.0.0", "1.0.0"]),
    (">*", ["0.0.1", "1.0.0"], ["0.0.0"]),
    # Masterminds' lessThanEqualPred on a dirty bound only checks major and minor, so `<=*`
    # admits every 0.0.z; the spec's "only 0.0.0" holds for the versions it tried.
    ("<=*", ["0.0.0", "0.0.5"], ["0.1.0", "1.0.0"]),
    # §4.3 prereleases
    (">=1.0.0", ["1.5.0"], ["1.5.0-rc.1"]),
    ("*", [], ["1.0.0-rc.1"]),
    ("!=1.2.3", [], ["2.0.0-rc.1"]),
    (">=1.0.0-0 <2.0.0", ["1.5.0-rc.1", "2.0.0-rc.1", "1.0.0"], ["2.0.0", "0.9.0-rc.1"]),
    (">=1.0.0-0 <2.0.0 || >=3.0.0", ["1.5.0-rc.1", "3.1.0"], ["3.1.0-rc.1"]),
    ("^1.2.0-alpha.0", ["1.9.0-beta", "1.2.0-alpha.0"], ["2.0.0-beta", "1.2.0-0"]),
    ("~1.2.3-beta.2", ["1.2.4-beta.2", "1.2.3-beta.2"], ["1.2.3-beta.1", "1.3.0-beta"]),
    (">=0.0.0-0", ["0.0.1-alpha", "4.0.0-rc.1", "4.0.0"], []),
    ("*-0", ["0.0.0-0", "1.0.0-rc.1", "2.0.0"], []),
    ("^1.x-0", ["1.5.0-rc.1", "1.0.0-0"], ["2.0.0-rc.1", "0.9.0"]),
    (">=2.0.0", [], ["2.0.330-63-gc1cfb68"]),
    (">=2.0.0-0", ["2.0.330-63-gc1cfb68"], []),
]


def _cases() -> list[ParameterSet]:
    cases: list[ParameterSet] = []
    for range_text, admitted, rejected in ROWS:
        for tag in admitted:
            cases.append(pytest.param(range_text, tag, True, id=f"{range_text} admits {tag}"))
        for tag in rejected:
            cases.append(pytest.param(range_text, tag, False, id=f"{range_text} rejects {tag}"))
    return cases


@pytest.mark.parametrize(("range_text", "tag", "expected"), _cases())
def test_constraint_rows(range_text: str, tag: str, expected: bool) -> None:
    assert admits(range_text, tag) is expected


@pytest.mark.parametrize(
    "range_text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="all-whitespace"),
        pytest.param("1.2.3 -2.0.0", id="hyphen-without-space-after"),
        pytest.param(">=1.0,,<2", id="double-comma"),
        pytest.param(">=1.0,", id="trailing-comma"),
        pytest.param(",>=1.0", id="leading-comma"),
        pytest.param("1.0 ||", id="trailing-or"),
        pytest.param("1 || || 2", id="empty-alternative"),
        pytest.param(">>1", id="double-greater"),
        pytest.param("~>=1.2", id="tilde-greater-equal"),
        pytest.param("V1.2.3", id="uppercase-V"),
        pytest.param("1.2.3.4", id="four-parts"),
        pytest.param("1.2.3-rc.01", id="prerelease-leading-zero"),
        pytest.param("1.2.3-", id="empty-prerelease"),
        pytest.param("1.2.3+", id="empty-build"),
        pytest.param("*-*", id="star-dash-star"),
        pytest.param("1.0.0p", id="trailing-letter"),
        pytest.param(">=1.0.0<2.0.0", id="adjacent-constraints"),
        pytest.param("1x", id="digit-then-x"),
        pytest.param("1 | 2", id="single-pipe"),
        pytest.param("latest", id="word"),
        pytest.param("18446744073709551616", id="uint64-overflow"),
    ],
)
def test_invalid_ranges(range_text: str) -> None:
    with pytest.raises(_constraints.InvalidConstraint):
        _constraints.parse(range_text)


def test_hyphen_range_rewrite_is_textual_before_the_or_split() -> None:
    # Masterminds rewrites "A - B" on the whole string first; cvRegex's segment class includes
    # "|", so in "1||2 - 3" the range swallows "1||2": ">= 1||2, <= 3" → ">= 1" || "2, <= 3".
    # Read as "1" || "2 - 3" it would reject 5.0.0.
    constraints = _constraints.parse("1||2 - 3")
    assert admits("1||2 - 3", "5.0.0")
    assert not admits("1||2 - 3", "0.9.0")
    assert len(constraints.groups) == 2


def test_prerelease_in_one_alternative_does_not_open_the_others() -> None:
    constraints = _constraints.parse(">=3.0.0 || >=1.0.0-0 <2.0.0")
    assert constraints.admits_prereleases
    assert [group.prerelease for group in constraints.groups] == [False, True]
