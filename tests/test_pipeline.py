"""Pipeline helpers without servers: the semver chooser for GitRepository refs, policy selection."""

from __future__ import annotations

import pytest

from imagebot import config, pipeline
from imagebot.errors import PolicyError
from imagebot.model import flux, ids
from imagebot.model.registries import RegistrySettings


@pytest.mark.parametrize(
    ("tags", "semver_range", "expected"),
    [
        pytest.param(["v1.0.0", "v1.2.0", "v2.0.0", "latest"], "^1.0", "v1.2.0", id="caret"),
        pytest.param(["1.0.0", "1.1.0-rc.1"], ">=1.0.0", "1.0.0", id="no-prerelease-without-asking"),
        pytest.param(["1.0.0", "1.1.0-rc.1"], ">=1.0.0-0", "1.1.0-rc.1", id="prerelease-when-asked"),
        pytest.param(["release-1", "main"], "*", None, id="no-version-tags"),
    ],
)
def test_choose_tag(tags: list[str], semver_range: str, expected: str | None) -> None:
    assert pipeline.choose_tag(tags, semver_range) == expected


def test_choose_tag_rejects_an_invalid_range() -> None:
    with pytest.raises(PolicyError):
        pipeline.choose_tag(["1.0.0"], ">>1")


def _policy(name: str, labels: dict[str, str], namespace: str = "flux-system") -> flux.ImagePolicy:
    return flux.ImagePolicy(key=ids.ObjectKey(namespace, name), repository=ids.ObjectKey(namespace, "r"),
                            choice=flux.SemverChoice("*"), labels=labels)


def test_policies_for_follows_namespace_and_policy_selector() -> None:
    policies = [_policy("dev", {"env": "dev"}), _policy("prod", {"env": "prod"}),
                _policy("other", {"env": "dev"}, namespace="team-b")]
    cfg = config.Config(
        image_repositories={}, image_policies={p.key: p for p in policies}, automations={},
        git_repositories={}, applications={}, application_sets={},
        registries=RegistrySettings(), files=(),
    )

    def automation(selector: dict[str, str]) -> flux.ImageUpdateAutomation:
        return flux.ImageUpdateAutomation(
            key=ids.ObjectKey("flux-system", "a"), source=ids.ObjectKey("flux-system", "git"),
            commit=flux.CommitSpec("bot", "bot@example.com"), policy_selector=selector,
        )

    assert [p.key.name for p in pipeline.policies_for(cfg, automation({"env": "dev"}))] == ["dev"]
    assert [p.key.name for p in pipeline.policies_for(cfg, automation({}))] == ["dev", "prod"]
