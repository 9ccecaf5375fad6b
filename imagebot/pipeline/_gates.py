"""Promotion gates and rolled-back tags: what holds an automation's change back.

``promotion_gate(cfg, state)`` checks an ImageUpdateAutomation's ``imagebot.dev/promote-after``:
the named Application's last check in the state store (``app_status``, written by ``serve``'s sync
loop and by ``imagebot sync``/``apps --state``) must be Synced and Healthy, and its files at the
revision it was compared at must carry the tags the change writes. ``evaluate_held`` evaluates a
policy after a rollback (``imagebot rollback``), when only tags ranked above the rolled-back one
count. Called by :func:`imagebot.pipeline.run_automation` and :func:`imagebot.pipeline.run`.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Mapping
from typing import Protocol

from imagebot import config, policy
from imagebot.errors import ConfigError
from imagebot.model import flux
from imagebot.model.history import Rollback
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.images import ImageRef, TagList
from imagebot.model.selections import Evaluation
from imagebot.state import StateStore

__all__ = ["Gate", "TagsAt", "evaluate_held", "promotion_gate"]

TagsAt = Callable[[str, str], "Mapping[ObjectKey, Tag] | None"]
"""``(revision, path)`` → the tag each policy's marked fields hold below ``path`` at that commit;
None when the commit is not in the clone."""


class Gate(Protocol):
    """Whether an automation with ``imagebot.dev/promote-after`` may publish ``wanted`` (the
    images its change writes): None when it may, else what it waits for (one line)."""

    def __call__(
        self, automation: flux.ImageUpdateAutomation, wanted: Mapping[ObjectKey, ImageRef], tags_at: TagsAt,
    ) -> str | None: ...


def evaluate_held(tags: TagList, spec: flux.ImagePolicy, now: datetime.datetime, current: Tag | None,
                  rolled_back: Rollback | None) -> Evaluation:
    """A policy's evaluation; after a rollback only tags ranked above the rolled-back one count."""
    newer = policy.newer_than(tags, spec, rolled_back.tag) if rolled_back is not None else None
    if rolled_back is None or newer is None:
        return policy.evaluate(tags, spec, now=now, current=current)
    evaluation = policy.evaluate(newer, spec, now=now, current=current)
    if evaluation.selection is not None:
        return evaluation
    when = rolled_back.at.isoformat(timespec="seconds")
    # with no newer tag at all, the policy's own reason would say "the repository lists none"
    why = f" ({evaluation.reason})" if newer.tags else ""
    reason = (f"held: {rolled_back.tag} was rolled back ({rolled_back.revision}, {when}); no tag "
              f"newer than {rolled_back.tag} yet{why}")
    return dataclasses.replace(evaluation, reason=reason)


def _application_path(cfg: config.Config, target: ObjectKey) -> str | None:
    # the sync stage expands ApplicationSets (and imports kubernetes): only for gated automations
    from imagebot import sync

    try:
        generated = sync.generate(cfg.application_sets.values(), sync.Sources(workdir=sync.APPSET_CLONES),
                                  config.parse_generated_application)
        every = sync.units([*cfg.applications.values(), *generated.applications],
                           list(cfg.kustomizations.values()), cfg.git_repositories)
    except ConfigError:
        return None
    found = [u for u in every if u.kind == "Application" and u.key == target]
    return found[0].path if found else None


def promotion_gate(cfg: config.Config, state: StateStore) -> Gate:
    """The gate of ``imagebot.dev/promote-after``: open when the named Application's last check
    was Synced and Healthy at a revision whose files (below its path) carry every wanted tag of
    the same images."""
    images = {key: cfg.image_repositories[p.repository].image.name
              for key, p in cfg.image_policies.items() if p.repository in cfg.image_repositories}

    def check(automation: flux.ImageUpdateAutomation, wanted: Mapping[ObjectKey, ImageRef],
              tags_at: TagsAt) -> str | None:
        target = automation.promote_after
        if target is None:
            return None
        need = ", ".join(sorted({f"{ref.name}:{ref.tag}" for ref in wanted.values()}))
        prefix = f"waiting for Application {target} to be Synced and Healthy running {need}"
        path = _application_path(cfg, target)
        if path is None:
            return f"{prefix} (no such Application in the configuration)"
        seen = state.app(str(target))
        if seen is None:
            return f"{prefix} (never checked: no sync of it recorded in the state store yet)"
        at = f"at {seen.revision[:12]}, checked {seen.checked_at.isoformat(timespec='seconds')}"
        if seen.sync != "Synced" or seen.health != "Healthy":
            return f"{prefix} (now {seen.sync}, {seen.health} {at})"
        held = tags_at(seen.revision, path)
        if held is None:
            return f"{prefix} (its revision {seen.revision[:12]} is not in the local clone yet)"
        running = {(images.get(key, ""), tag) for key, tag in held.items()}
        if any((ref.name, ref.tag) not in running for ref in wanted.values()):
            shown = ", ".join(sorted(f"{name}:{tag}" for name, tag in running if name)) or "no marked images"
            return f"{prefix} (Synced and Healthy {at}, but its files there hold {shown})"
        return None

    return check
