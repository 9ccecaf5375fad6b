"""What the sync stage works with and reports: object references, per-object outcomes, unit status.

Produced by :mod:`imagebot.sync` (render, apply, prune, status); consumed by the ``sync`` and
``apps`` commands.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = ["Action", "ApplyOutcome", "ObjectRef", "RenderedObject", "SyncResult", "UnitStatus"]


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """One Kubernetes object: ``ObjectRef("apps/v1", "Deployment", "shop", "web")``.

    ``namespace`` is ``""`` for cluster-scoped objects.
    """

    api_version: str
    kind: str
    namespace: str
    name: str

    @property
    def group(self) -> str:
        group, _, _ = self.api_version.rpartition("/")
        return group

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity without the version (a Deployment is the same object in v1 and v1beta1)."""
        return (self.group, self.kind, self.namespace, self.name)

    @property
    def inventory_id(self) -> str:
        """Flux's inventory id: ``<namespace>_<name>_<group>_<kind>``."""
        return f"{self.namespace}_{self.name}_{self.group}_{self.kind}"

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclasses.dataclass(frozen=True, slots=True)
class RenderedObject:
    """One object of a unit's render: where it came from and the images it runs."""

    ref: ObjectRef
    source: str
    """The file (or kustomization directory) the object was rendered from."""
    images: tuple[str, ...] = ()
    wave: int = 0


Action = Literal[
    "created", "configured", "unchanged", "pruned", "prune-skipped", "would-prune", "failed", "skipped",
]


@dataclasses.dataclass(frozen=True, slots=True)
class ApplyOutcome:
    """What happened to one object in one sync; ``message`` says why for anything unusual."""

    ref: ObjectRef
    action: Action
    message: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class SyncResult:
    """One sync of one unit: the revision applied and each object's outcome."""

    unit: str
    revision: str
    outcomes: tuple[ApplyOutcome, ...] = ()
    message: str = ""
    """Why the unit as a whole did something unusual (empty render, skipped, render failed)."""
    diff: str = ""
    dry_run: bool = False
    error: str | None = None
    """Set when the unit failed as a whole (render, connection); outcomes may be partial."""

    @property
    def failed(self) -> bool:
        return self.error is not None or any(o.action == "failed" for o in self.outcomes)


@dataclasses.dataclass(frozen=True, slots=True)
class UnitStatus:
    """A row of ``imagebot apps``: sync status and health of one unit against the live cluster."""

    unit: str
    revision: str
    sync: Literal["Synced", "OutOfSync", "Unknown"]
    health: str
    why: tuple[str, ...] = ()
    synced_revision: str | None = None
