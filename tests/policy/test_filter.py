"""``filterTags``: RE2/Go pattern syntax, search semantics, and Go's ``$name`` expansion (spec §3.3).

Aspects: Go-only syntax accepted and Python-only syntax rejected, unanchored leftmost search,
every expansion rule (``$1x`` ≠ ``${1}x``, ``$$``, malformed ``$``, missing groups, duplicate
names), and exclusion lists.
"""

from __future__ import annotations

import datetime

import pytest

from imagebot import patterns as _regex
from imagebot.errors import ConfigError
from imagebot.model import flux
from imagebot.model.ids import ObjectKey, Tag
from imagebot.policy import _filter, exclude
from tests.policy.builders import REPO


def value(pattern: str, extract: str, tag: str) -> str | None:
    return _filter.compile_filter(pattern, extract).value(tag)


@pytest.mark.parametrize(
    ("pattern", "tag", "matches"),
    [
        pytest.param("rc", "1.0.0-rc.1", True, id="search-not-fullmatch"),
        pytest.param("^rc", "1.0.0-rc.1", False, id="user-anchors"),
        pytest.param("(?<n>[0-9]+)$", "build-42", True, id="go-named-group-without-P"),
        pytest.param("^[[:digit:]]+$", "123", True, id="posix-class"),
        pytest.param("^[[:digit:]]+$", "12a", False, id="posix-class-is-not-a-set-of-chars"),
        pytest.param(r"^v\d+\z", "v12", True, id="backslash-z"),
        pytest.param(r"^\d+$", "١٢٣", False, id="digit-class-is-ascii"),
        pytest.param(r"^\pL+$", "été", True, id="unicode-letter-class"),
        pytest.param("^1.0$", "1.0\n", False, id="dollar-is-end-of-text"),
        pytest.param("(?i)^LATEST$", "latest", True, id="case-insensitive-flag"),
    ],
)
def test_pattern_semantics(pattern: str, tag: str, matches: bool) -> None:
    assert (value(pattern, "", tag) is not None) is matches


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("(?=x)", id="lookahead"),
        pytest.param("(?<!x)y", id="lookbehind"),
        pytest.param(r"(a)\1", id="backreference"),
        pytest.param(r"a\Z", id="python-end-anchor"),
        pytest.param(r"\C", id="re2-any-byte-go-rejects"),
        pytest.param("a{1001}", id="repeat-over-1000"),
        pytest.param("(", id="unbalanced"),
    ],
)
def test_patterns_go_rejects(pattern: str) -> None:
    with pytest.raises(_regex.InvalidPattern):
        _regex.compile_pattern(pattern)


def test_only_the_first_match_is_used() -> None:
    assert value("(?P<n>[0-9]+)", "$n", "a1b22c333") == "1"


TS = r"^main-(?P<sha>[a-f0-9]+)-(?P<ts>[0-9]+)$"


@pytest.mark.parametrize(
    ("pattern", "extract", "tag", "expected"),
    [
        pytest.param(TS, "$ts", "main-abc-17", "17", id="named"),
        pytest.param(TS, "${ts}", "main-abc-17", "17", id="braced-named"),
        pytest.param(TS, "$ts$sha", "main-abc-17", "17abc", id="two-groups-concatenated"),
        pytest.param(TS, "$2.$1", "main-abc-17", "17.abc", id="dot-ends-a-name"),
        pytest.param(r"^(\d+)\.(\d+)$", "$1x", "4.5", "", id="dollar-1x-is-group-named-1x"),
        pytest.param(r"^(\d+)\.(\d+)$", "${1}x", "4.5", "4x", id="braced-1-then-x"),
        pytest.param(r"^(\d+)\.(\d+)$", "$1.$2.0", "4.5", "4.5.0", id="major-minor-zero"),
        pytest.param(r"^(\d+)$", "$$1", "7", "$1", id="double-dollar-is-literal"),
        pytest.param(r"^(\d+)$", "a$", "7", "a$", id="trailing-dollar-literal"),
        pytest.param(r"^(\d+)$", "$-1", "7", "$-1", id="dollar-without-name-literal"),
        pytest.param(r"^(\d+)$", "${1", "7", "${1", id="unclosed-brace-literal"),
        pytest.param(r"^(\d+)$", "${}", "7", "${}", id="empty-braces-literal"),
        pytest.param(r"^(\d+)$", "$9", "7", "", id="out-of-range-number-empty"),
        pytest.param(r"^(\d+)$", "$01", "7", "", id="leading-zero-is-a-name"),
        pytest.param(r"^(\d+)$", "$nope", "7", "", id="unknown-name-empty"),
        pytest.param(r"^(\d+)$", "$0", "7", "7", id="group-zero-whole-match"),
        pytest.param(r"^(a)?(\d+)$", "[$1]", "7", "[]", id="non-participating-empty"),
        pytest.param(r"^(?P<v>a)?(?P<v>\d+)$", "$v", "7", "7", id="duplicate-name-first-participating"),
        pytest.param(r"^(?P<v>a)?(?P<v>\d+)$", "$v", "a7", "a", id="duplicate-name-leftmost"),
        pytest.param(r"^(?P<é>\d+)$", "$é", "7", "7", id="unicode-letter-name"),
        pytest.param(r"x(\d+)", "<$1>", "ax12", "<12>", id="literal-around"),
    ],
)
def test_go_expand(pattern: str, extract: str, tag: str, expected: str) -> None:
    assert value(pattern, extract, tag) == expected


def test_no_extract_keeps_the_tag() -> None:
    assert value("^v", "", "v1.2.3") == "v1.2.3"


def _repository(exclusions: tuple[str, ...]) -> flux.ImageRepository:
    return flux.ImageRepository(
        key=ObjectKey("apps", "podinfo"), image=REPO, interval=datetime.timedelta(minutes=5),
        timeout=datetime.timedelta(minutes=1), exclusion_list=exclusions, source="repo.yaml#1",
    )


def test_default_exclusion_drops_cosign_signatures() -> None:
    tags = [Tag("1.0.0"), Tag("sha256-abc.sig")]
    assert exclude(tags, _repository(flux.DEFAULT_EXCLUSIONS)) == ((Tag("1.0.0"),), (Tag("sha256-abc.sig"),))


def test_custom_exclusion_list_replaces_the_default() -> None:
    kept, excluded = exclude([Tag("1.0.0"), Tag("sha256-abc.sig"), Tag("1.0.0-rc.1")], _repository(("-rc",)))
    assert kept == (Tag("1.0.0"), Tag("sha256-abc.sig"))  # the .sig tag is back
    assert excluded == (Tag("1.0.0-rc.1"),)


def test_invalid_exclusion_names_the_repository_and_pattern() -> None:
    with pytest.raises(ConfigError, match=r"repo\.yaml#1: ImageRepository apps/podinfo: .*'\(\?=sig\)'"):
        exclude([Tag("1.0.0")], _repository(("(?=sig)",)))
