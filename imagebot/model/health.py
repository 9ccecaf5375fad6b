"""Health of Kubernetes objects, in Argo CD's vocabulary, and its roll-up with the reasons.

Produced by :mod:`imagebot.sync` (``sync.assess``, ``sync.rollup``); consumed by the sync engine's
wave gating, ``imagebot apps`` and ``imagebot health``.
"""

from __future__ import annotations

import dataclasses
import enum

__all__ = ["Health", "HealthStatus", "HealthSummary", "ResourceHealth"]


class HealthStatus(enum.StrEnum):
    """Argo CD's health codes; :attr:`severity` orders them as Argo CD aggregates them."""

    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    PROGRESSING = "Progressing"
    MISSING = "Missing"
    DEGRADED = "Degraded"
    UNKNOWN = "Unknown"

    @property
    def severity(self) -> int:
        """0 (Healthy) to 5 (Unknown): the roll-up reports the highest."""
        return list(HealthStatus).index(self)


@dataclasses.dataclass(frozen=True, slots=True)
class Health:
    """One object's health and the reason, e.g. ``Health(PROGRESSING, "1 of 3 updated ...")``."""

    status: HealthStatus
    message: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class ResourceHealth:
    """The health of one live (or missing) object; ``health`` is ``None`` for kinds without a rule.

    ``counted`` is false for objects the roll-up skips: hooks and objects annotated
    ``argocd.argoproj.io/ignore-healthcheck: "true"``.
    """

    kind: str
    name: str
    namespace: str = ""
    group: str = ""
    health: Health | None = None
    counted: bool = True

    @property
    def label(self) -> str:
        """``Deployment shop/web`` (``Kind name`` for cluster-scoped objects)."""
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class HealthSummary:
    """The worst counted health of a set of objects, with the objects that made it so."""

    status: HealthStatus
    causes: tuple[ResourceHealth, ...] = ()
    more: int = 0
    """How many further objects had the same status (not listed in ``causes``)."""

    @property
    def why(self) -> str:
        """One line naming each cause and its message ("" when Healthy)."""
        parts = []
        for cause in self.causes:
            message = cause.health.message if cause.health is not None else ""
            parts.append(f"{cause.label}: {message}" if message else cause.label)
        if self.more > 0:
            parts.append(f"and {self.more} more")
        return "; ".join(parts)
