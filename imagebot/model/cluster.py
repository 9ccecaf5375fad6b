"""What the sync stage works with and reports: object references, per-object outcomes, unit status.

Produced by :mod:`imagebot.sync` (render, apply, prune, status) and the serve loop
(:mod:`imagebot.schedule`: history, last state); consumed by the ``sync`` and ``apps`` commands.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Literal

__all__ = [
    "Action", "AppState", "ApplyOutcome", "ObjectRef", "RenderedObject", "SyncPhase", "SyncRecord",
    "SyncResult", "UnitStatus",
]


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
    "hook",
]
"""``hook``: a resource hook ran and succeeded (a failed one is ``failed``); the message says its phase."""


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
    pruning_only: bool = False
    """OutOfSync only because objects require pruning (an automated sync without prune skips)."""


SyncPhase = Literal["Succeeded", "Failed"]


@dataclasses.dataclass(frozen=True, slots=True)
class SyncRecord:
    """One entry of a unit's sync history (``imagebot serve`` writes it; Argo CD's
    ``status.history``): what was synced, how it ended, when, and how many objects changed."""

    unit: str
    revision: str
    result: SyncPhase
    started_at: datetime.datetime
    finished_at: datetime.datetime
    changed: int = 0
    """Objects created, configured or pruned."""
    trigger: str = ""
    """Why it ran: ``new revision``, ``self-heal``, ``retry``."""
    message: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class AppState:
    """What ``imagebot serve`` last saw of one Application or Kustomization (the state store's
    ``app_status``): read by ``imagebot apps``, ``/metrics`` and promotion gates.

    ``state.ready_at("4f2a9c1d")``: Synced and Healthy at that revision.
    """

    unit: str
    """``argocd/web-dev`` for an Application, ``Kustomization flux-system/apps`` otherwise."""
    revision: str
    """The Git revision rendered at the last check."""
    sync: Literal["Synced", "OutOfSync", "Unknown"]
    health: str
    checked_at: datetime.datetime
    synced_revision: str | None = None
    """The revision of the last sync that applied (from the unit's inventory)."""
    why: tuple[str, ...] = ()
    last_result: SyncPhase | None = None
    last_synced_at: datetime.datetime | None = None
    last_error: str | None = None

    def ready_at(self, revision: str) -> bool:
        """Synced and Healthy, compared at ``revision`` (a full SHA or a prefix of at least 7
        hex digits): the live objects are what Git holds at that revision, and healthy. As in
        Argo CD, a revision that changed nothing of this unit counts once it is compared."""
        wanted = revision.strip().lower()
        if len(wanted) < 7:
            return False
        return (self.sync == "Synced" and self.health == "Healthy"
                and self.revision.lower().startswith(wanted))
