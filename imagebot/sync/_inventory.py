"""The inventory of a sync unit: what it applied last time, kept in a ConfigMap in the cluster.

One ConfigMap per unit, ``imagebot-inventory-<unit>`` in the unit's own namespace (``argocd`` or
``flux-system`` as in your policies/; created when missing), holds Flux-style entries
(``<namespace>_<name>_<group>_<kind>`` and version), the revision, and the last operation's phase
and message; ``syncedAt`` is when any of these last changed (a no-change resync writes
nothing). Prune works from it; ``imagebot apps`` reports it. Used by :mod:`._reconcile`.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import re
from collections.abc import Sequence

from imagebot.model.cluster import ObjectRef
from imagebot.sync import _tracking
from imagebot.sync._cluster import KubernetesCluster
from imagebot.sync._units import SyncUnit

__all__ = ["Inventory", "read", "ref", "write"]


@dataclasses.dataclass(frozen=True, slots=True)
class Inventory:
    entries: tuple[ObjectRef, ...] = ()
    revision: str | None = None
    phase: str | None = None
    message: str = ""
    synced_at: str | None = None
    exists: bool = False


def ref(unit: SyncUnit) -> ObjectRef:
    """Where the unit's inventory lives."""
    name = re.sub(r"[^a-z0-9.-]+", "-", unit.tracking_name.lower()).strip("-.")
    if len(name) > 200:
        name = f"{name[:180]}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
    return ObjectRef("v1", "ConfigMap", unit.key.namespace, f"imagebot-inventory-{name}")


def read(cluster: KubernetesCluster, unit: SyncUnit) -> Inventory:
    live = cluster.get(ref(unit))
    if live is None:
        return Inventory()
    data = live.get("data") or {}
    return Inventory(
        entries=tuple(_tracking.decode_inventory(data.get("entries", "[]"))),
        revision=data.get("revision") or None,
        phase=data.get("phase") or None,
        message=data.get("message", ""),
        synced_at=data.get("syncedAt") or None,
        exists=True,
    )


def write(cluster: KubernetesCluster, unit: SyncUnit, entries: Sequence[ObjectRef], *, revision: str,
          phase: str, message: str, namespace_exists: bool = False) -> None:
    where = ref(unit)
    if not namespace_exists and cluster.get(ObjectRef("v1", "Namespace", "", where.namespace)) is None:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": where.namespace}})
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cluster.apply({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": where.name, "namespace": where.namespace,
                     "labels": {"app.kubernetes.io/managed-by": "imagebot"},
                     "annotations": {"imagebot.dev/unit": f"{unit.kind}/{unit.key}"}},
        "data": {"entries": _tracking.encode_inventory(entries), "revision": revision, "phase": phase,
                 "message": message[:1000], "syncedAt": now},
    }, force=True)
