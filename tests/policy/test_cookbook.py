"""The recipes of docs/policies.md, each run against a realistic tag list."""

from __future__ import annotations

import pytest

from imagebot import policy
from imagebot.model import flux
from tests.policy.builders import digest, image_policy, tag_list


@pytest.mark.parametrize(
    ("spec", "tags", "expected"),
    [
        pytest.param(
            image_policy(semver=">=1.0.0"),
            ["1.3.0", "v1.4.0", "1.4.0", "1.5.0-rc.1", "latest", "0.9.0"], "v1.4.0",
            id="stable-only",
        ),
        pytest.param(
            image_policy(semver=">=1.0.0 <2.0.0 || >=2.0.0-0 <3.0.0-0"),
            ["1.9.0", "1.10.0-rc.1", "2.0.0-rc.1", "2.0.0-rc.2", "3.0.0-rc.1"], "2.0.0-rc.2",
            id="next-major-prereleases",
        ),
        pytest.param(
            image_policy(semver=">=1.0.0 <2.0.0 || >=2.0.0-0 <3.0.0"),
            ["2.0.0-rc.2", "3.0.0-rc.1"], "3.0.0-rc.1",
            id="upper-bound-without-dash-0-lets-the-next-major-in",
        ),
        pytest.param(
            image_policy(semver=">=1.0.0 <2.0.0 || >=2.0.0-0 <3.0.0-0"),
            ["1.9.0", "1.10.0-rc.1"], "1.9.0", id="next-major-prereleases-not-yet",
        ),
        pytest.param(
            image_policy(semver="^2.x-0"), ["2.0.0-rc.9", "2.0.0-rc.10", "1.9.0"], "2.0.0-rc.10",
            id="anything-2.x",
        ),
        pytest.param(
            image_policy(semver=">=2024.0.0"), ["2024.01.15", "2024.02.01", "2023.12.31"], "2024.02.01",
            id="calver-three-parts",
        ),
        pytest.param(
            image_policy(semver=">=2024.0.0", pattern=r"^(?P<y>[0-9]{4})\.(?P<m>[0-9]{2})$",
                         extract="$y.$m.0"),
            ["2024.01", "2024.11", "2024.02", "2023.12"], "2024.11", id="calver-two-parts",
        ),
        pytest.param(
            image_policy(flux.NumericalChoice(), pattern=r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})$",
                         extract="$y$m$d"),
            ["2024-01-15", "2024-10-02", "2024-09-30", "latest"], "2024-10-02", id="calver-dashes",
        ),
        pytest.param(
            image_policy(flux.NumericalChoice(), pattern=r"^main-[a-f0-9]+-(?P<ts>[0-9]+)$", extract="$ts"),
            ["main-abc1234-1700000000", "main-0ff1ce0-1700000500", "pr-12-1800000000", "v1.0.0"],
            "main-0ff1ce0-1700000500", id="timestamped-builds",
        ),
    ],
)
def test_recipe(spec: flux.ImagePolicy, tags: list[str], expected: str) -> None:
    selection = policy.select(tag_list(tags), spec)
    assert selection is not None and selection.tag == expected


def test_recipe_digest_pinning_of_latest() -> None:
    spec = image_policy(flux.AlphabeticalChoice(), pattern="^latest$", reflect="Always")
    tags = tag_list(["latest", "1.0.0", "main"], digests={"latest": digest(3), "1.0.0": digest(1)})
    selection = policy.select(tags, spec)
    assert selection is not None and (selection.tag, selection.digest) == ("latest", digest(3))
