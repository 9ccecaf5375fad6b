"""Properties of ``policy.evaluate`` that hold for any tag list (hypothesis).

Aspects: the result does not depend on tag order; adding a tag the policy excludes never changes
it; the selected tag satisfies the policy and nothing eligible beats it, checked against
independent oracles (the ``semver`` library, ``max``, ``float``).
"""

from __future__ import annotations

import random

import semver
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot import policy
from imagebot.model import flux
from tests.policy.builders import image_policy, tag_list

_n = st.integers(min_value=0, max_value=12)
_prerelease = st.sampled_from(["", "-rc.1", "-rc.2", "-alpha", "-0", "-rc.10", "-beta.1"])
_version = st.builds(
    lambda v, a, b, c, pre, build: f"{v}{a}.{b}.{c}{pre}{build}",
    st.sampled_from(["", "v"]), _n, _n, _n, _prerelease, st.sampled_from(["", "", "+b1", "+b2"]),
)
_junk = st.sampled_from(["latest", "main", "1.2", "V1.2.3", "sha-abc", "1.2.3.4", "edge", "01.02.03"])
_number = st.integers(min_value=0, max_value=10**6).map(str)
_build = st.builds(lambda sha, ts: f"main-{sha:05x}-{ts}", st.integers(0, 2**20), st.integers(0, 10**4))
_tag = st.one_of(_version, _junk, _number, _build)

POLICIES = [
    image_policy(semver="*"),
    image_policy(semver=">=1.0.0 <5"),
    image_policy(semver="^2.x-0 || ~7"),
    image_policy(flux.AlphabeticalChoice("asc")),
    image_policy(flux.AlphabeticalChoice("desc")),
    image_policy(flux.NumericalChoice("asc"), pattern="^[0-9]+$"),
    image_policy(flux.NumericalChoice("desc"), pattern=r"^main-[0-9a-f]+-(?P<ts>[0-9]+)$", extract="$ts"),
    image_policy(semver=">=0.0.0-0", pattern=r"^v?(?P<v>[0-9]+\.[0-9]+\.[0-9]+)", extract="$v"),
]


def _result(tags: list[str], spec: flux.ImagePolicy, *, presorted: bool = True) -> str | None:
    selection = policy.select(tag_list(tags, presorted=presorted), spec)
    return None if selection is None else selection.tag


@settings(max_examples=150)
@given(st.lists(_tag, max_size=30), st.sampled_from(POLICIES), st.randoms(use_true_random=False))
def test_selection_is_independent_of_tag_order(
        tags: list[str], spec: flux.ImagePolicy, rng: random.Random,
) -> None:
    shuffled = list(tags)
    rng.shuffle(shuffled)
    assert _result(shuffled, spec, presorted=False) == _result(tags, spec)


@settings(max_examples=150)
@given(st.lists(_tag, max_size=30), _tag, st.sampled_from(POLICIES))
def test_a_filtered_out_tag_never_changes_the_result(
        tags: list[str], extra: str, spec: flux.ImagePolicy,
) -> None:
    spec = image_policy(spec.choice, pattern="^(v|[0-9])")
    before = _result(tags, spec)
    extra = f"x{extra}"  # cannot match ^(v|[0-9])
    assert _result([*tags, extra], spec) == before


@settings(max_examples=150)
@given(st.lists(_tag, max_size=30), st.sampled_from(["nightly", "1.2", "V9.9.9", "99.0.0", "9.9.9-rc.1"]))
def test_a_tag_outside_the_range_never_changes_the_result(tags: list[str], extra: str) -> None:
    spec = image_policy(semver=">=1.0.0 <5")
    assert _result([*tags, extra], spec) == _result(tags, spec)


def _semver_oracle(tag: str) -> semver.Version:
    return semver.Version.parse(tag.removeprefix("v"))


@settings(max_examples=200)
@given(st.lists(_version, min_size=1, max_size=30), _n, _n)
def test_selected_tag_satisfies_the_range_and_is_the_greatest(tags: list[str], low: int, span: int) -> None:
    low_v, high_v = semver.Version(low, 0, 0), semver.Version(low + span + 1, 0, 0)
    spec = image_policy(semver=f">={low_v} <{high_v}")

    def in_range(tag: str) -> bool:
        version = _semver_oracle(tag)
        return version.prerelease is None and low_v <= version < high_v

    selected = _result(tags, spec)
    eligible = [t for t in tags if in_range(t)]
    if not eligible:
        assert selected is None
        return
    assert selected is not None and in_range(selected)
    best = max(_semver_oracle(t) for t in eligible)
    assert _semver_oracle(selected).compare(best) == 0
    ties = [t for t in eligible if _semver_oracle(t).compare(best) == 0]
    assert selected == max(ties)  # equal precedence → byte-greatest text


@given(st.lists(_tag, min_size=1, max_size=30))
def test_alphabetical_is_max_and_min(tags: list[str]) -> None:
    assert _result(tags, image_policy(flux.AlphabeticalChoice("asc"))) == max(tags)
    assert _result(tags, image_policy(flux.AlphabeticalChoice("desc"))) == min(tags)


@given(st.lists(_number, min_size=1, max_size=30))
def test_numerical_is_the_largest_number(tags: list[str]) -> None:
    selected = _result(tags, image_policy(flux.NumericalChoice("asc")))
    assert selected is not None and float(selected) == max(float(t) for t in tags)
