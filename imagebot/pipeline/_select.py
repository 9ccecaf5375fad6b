"""Which policies an automation applies, which shard it belongs to, and the semver chooser for
GitRepository refs. Called by the rest of the pipeline, the scheduler and the commands."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence

from imagebot import config, policy
from imagebot.model import flux
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.images import ImageRepo, TagList

__all__ = ["choose_tag", "policies_for", "shard_of"]


def choose_tag(tags: Sequence[str], semver_range: str) -> str | None:
    """The highest git tag in a Masterminds range (``GitRepository.spec.ref.semver``), as Flux."""
    spec = flux.ImagePolicy(key=ObjectKey("", "spec.ref.semver"), repository=ObjectKey("", ""),
                            choice=flux.SemverChoice(semver_range))
    policy.validate(spec)
    repo = ImageRepo(registry="git", path="tags", name="git tags")
    listed = TagList(repo, tuple(Tag(t) for t in sorted(set(tags), reverse=True)),
                     datetime.datetime.now(datetime.UTC))
    selection = policy.select(listed, spec)
    return str(selection.tag) if selection is not None else None


def shard_of(key: ObjectKey, count: int) -> int:
    """The shard (``0 … count-1``) an ImageUpdateAutomation belongs to: a hash of its namespaced
    name, so every process computes the same split with no coordination."""
    digest = hashlib.sha256(str(key).encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def policies_for(cfg: config.Config, automation: flux.ImageUpdateAutomation) -> list[flux.ImagePolicy]:
    """The ImagePolicies an automation applies: its namespace, filtered by ``policySelector``."""
    wanted = automation.policy_selector.items()
    return [
        p for key, p in sorted(cfg.image_policies.items())
        if key.namespace == automation.key.namespace and all(p.labels.get(k) == v for k, v in wanted)
    ]
