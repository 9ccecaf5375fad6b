"""Rolled-back tags (``policy.newer_than``): the rolled-back tag and everything the policy ranks at
or below it are dropped, under the policy's own rule (semver, numerical, a filter's extract); a
tag the policy cannot rank any more lifts the hold."""

from __future__ import annotations

import pytest

from imagebot import policy
from imagebot.model import flux
from imagebot.model.ids import Tag
from tests.policy.builders import image_policy, tag_list


@pytest.mark.parametrize(
    ("spec", "tags", "rolled_back", "kept"),
    [
        pytest.param(image_policy(semver=">=1.0.0"), ["1.0.0", "1.1.0", "1.2.0", "1.10.0"], "1.2.0",
                     ["1.10.0"], id="semver"),
        pytest.param(image_policy(semver=">=1.0.0"), ["1.0.0", "1.1.0"], "1.1.0", [], id="nothing-newer"),
        pytest.param(image_policy(flux.NumericalChoice("asc"), pattern=r"^main-[a-f0-9]+-(?P<ts>\d+)$",
                                  extract="$ts"),
                     ["main-aaa-100", "main-bbb-200", "main-ccc-300", "other"], "main-bbb-200",
                     ["main-ccc-300"], id="numerical-extract"),
        pytest.param(image_policy(flux.AlphabeticalChoice("desc")), ["a", "b", "c"], "b", ["a"],
                     id="alphabetical-desc"),
    ],
)
def test_only_tags_ranked_above_the_rolled_back_one_stay(
    spec: flux.ImagePolicy, tags: list[str], rolled_back: str, kept: list[str],
) -> None:
    newer = policy.newer_than(tag_list(tags), spec, Tag(rolled_back))
    assert newer is not None
    assert sorted(newer.tags) == kept


def test_a_tag_the_policy_cannot_rank_lifts_the_hold() -> None:
    spec = image_policy(flux.NumericalChoice("asc"), pattern=r"^build-(?P<n>\d+)$", extract="$n")
    assert policy.newer_than(tag_list(["build-1", "build-2"]), spec, Tag("1.2.0")) is None
