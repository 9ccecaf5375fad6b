"""Ownership: Argo CD's tracking id on every applied object, and the per-unit inventory.

An object belongs to a unit when its ``argocd.argoproj.io/tracking-id`` annotation names the unit
*and* the object itself (a copied annotation does not make an object owned), or — Argo CD's label
mode — when the ``app.kubernetes.io/instance`` label names the unit. Prune deletes only inventory
entries that are still owned this way. Used by render (sets the id) and reconcile (prune).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from imagebot.model.cluster import ObjectRef

__all__ = [
    "ANNOTATION", "INSTANCE_LABEL", "SYNC_OPTIONS", "SYNC_WAVE", "decode_inventory", "encode_inventory",
    "object_options", "owned_by", "tracking_id",
]

ANNOTATION = "argocd.argoproj.io/tracking-id"
INSTANCE_LABEL = "app.kubernetes.io/instance"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"


def tracking_id(unit: Any, ref: ObjectRef) -> str:  # unit: a SyncUnit (Any avoids an import cycle)
    """``<app>:<group>/<kind>:<namespace>/<name>``, Argo CD's annotation format."""
    return f"{unit.tracking_name}:{ref.group}/{ref.kind}:{ref.namespace}/{ref.name}"


def owned_by(live: Mapping[str, Any], ref: ObjectRef, tracking_name: str) -> bool:
    """Whether the live object carries this unit's tracking id for itself (or the instance label)."""
    metadata = live.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    value = annotations.get(ANNOTATION)
    if isinstance(value, str):
        app, _, rest = value.partition(":")
        group_kind, _, where = rest.partition(":")
        group, _, kind = group_kind.partition("/")
        namespace, _, name = where.partition("/")
        wanted = (tracking_name, ref.group, ref.kind, ref.namespace, ref.name)
        return (app, group, kind, namespace, name) == wanted
    labels = metadata.get("labels") or {}
    return bool(labels.get(INSTANCE_LABEL) == tracking_name)


def object_options(body: Mapping[str, Any] | None) -> set[str]:
    """The object's ``argocd.argoproj.io/sync-options`` (``Prune=false``, ``Delete=false`` …)."""
    if not body:
        return set()
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(SYNC_OPTIONS) or ""
    return {part.strip() for part in str(raw).split(",") if part.strip()}


def encode_inventory(refs: Sequence[ObjectRef]) -> str:
    """Inventory entries as Flux writes them: ``{"id": ns_name_group_kind, "v": version}``."""
    entries = [{"id": r.inventory_id, "v": r.api_version.rpartition("/")[2]} for r in sorted(refs)]
    return json.dumps(entries, separators=(",", ":"))


def decode_inventory(text: str) -> list[ObjectRef]:
    """The references of an encoded inventory (malformed entries are skipped)."""
    try:
        entries = json.loads(text or "[]")
    except json.JSONDecodeError:
        return []
    refs = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping):
            continue
        parts = str(entry.get("id", "")).split("_")
        if len(parts) < 4:
            continue
        # names and namespaces cannot contain "_", groups cannot either: split from both ends
        namespace, name, kind = parts[0], parts[1], parts[-1]
        group = "_".join(parts[2:-1])
        version = str(entry.get("v", "v1"))
        refs.append(ObjectRef(f"{group}/{version}" if group else version, kind, namespace, name))
    return refs
