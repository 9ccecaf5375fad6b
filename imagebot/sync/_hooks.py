"""Resource hooks: which rendered objects are hooks, of which phases, and how they are named.

Argo CD's rules (gitops-engine ``pkg/sync/hook``): ``argocd.argoproj.io/hook`` holds a
comma-separated list of ``PreSync``, ``Sync``, ``PostSync``, ``SyncFail`` and ``Skip``; without
it, Helm's ``helm.sh/hook`` maps ``pre-install``/``pre-upgrade`` to PreSync and
``post-install``/``post-upgrade`` to PostSync (other Helm hooks are not hooks). An object whose
only type is ``Skip`` is never applied. ``argocd.argoproj.io/hook-delete-policy`` (and Helm's
``before-hook-creation``/``hook-succeeded``/``hook-failed``) default to ``BeforeHookCreation``.
A hook's wave is its ``sync-wave``, else Helm's ``hook-weight``. A hook with ``generateName``
gets the name ``<generateName><revision[:7]>-<phase>-<unix start time>``, lower case.

Pure functions; called by :mod:`imagebot.sync._render` (classification) and
:mod:`imagebot.sync._phases` (running them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "DELETE_POLICY", "HOOK", "PHASES", "delete_policies", "hook_name", "is_skipped", "phases", "wave",
]

HOOK = "argocd.argoproj.io/hook"
DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
HELM_HOOK = "helm.sh/hook"
HELM_DELETE_POLICY = "helm.sh/hook-delete-policy"
HELM_WEIGHT = "helm.sh/hook-weight"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"

PHASES = ("PreSync", "Sync", "PostSync", "SyncFail")
"""The phases in the order a sync runs them (SyncFail only when the sync failed)."""
_TYPES = frozenset({*PHASES, "Skip"})
_HELM_TYPES = {"pre-install": "PreSync", "pre-upgrade": "PreSync",
               "post-install": "PostSync", "post-upgrade": "PostSync"}
_POLICIES = frozenset({"BeforeHookCreation", "HookSucceeded", "HookFailed"})
_HELM_POLICIES = {"before-hook-creation": "BeforeHookCreation", "hook-succeeded": "HookSucceeded",
                  "hook-failed": "HookFailed"}


def _annotations(body: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = body.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    return annotations if isinstance(annotations, Mapping) else {}


def _csv(value: object) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _types(body: Mapping[str, Any]) -> list[str]:
    annotations = _annotations(body)
    found = [t for t in _csv(annotations.get(HOOK)) if t in _TYPES]
    if not found:  # Helm's annotation counts only without Argo CD's
        found = [_HELM_TYPES[t] for t in _csv(annotations.get(HELM_HOOK)) if t in _HELM_TYPES]
    return found


def is_skipped(body: Mapping[str, Any]) -> bool:
    """``argocd.argoproj.io/hook: Skip`` (and no other type): the object is never applied."""
    return set(_types(body)) == {"Skip"}


def phases(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The hook phases of ``body`` in run order; ``()`` for an ordinary object (or a skipped one)."""
    types = set(_types(body))
    if types <= {"Skip"}:
        return ()
    return tuple(p for p in PHASES if p in types)


def delete_policies(body: Mapping[str, Any]) -> frozenset[str]:
    annotations = _annotations(body)
    found = {p for p in _csv(annotations.get(DELETE_POLICY)) if p in _POLICIES}
    found |= {_HELM_POLICIES[p] for p in _csv(annotations.get(HELM_DELETE_POLICY)) if p in _HELM_POLICIES}
    return frozenset(found or {"BeforeHookCreation"})


def wave(body: Mapping[str, Any]) -> int | None:
    """The hook's wave when only Helm's ``hook-weight`` gives one (``None``: use ``sync-wave``)."""
    annotations = _annotations(body)
    if SYNC_WAVE in annotations:
        return None
    try:
        return int(str(annotations.get(HELM_WEIGHT, "0")).strip() or "0")
    except ValueError:
        return 0  # gitops-engine ignores an unparsable weight


def hook_name(generate_name: str, *, revision: str, phase: str, started: float) -> str:
    """The name of a ``generateName`` hook for one sync, as gitops-engine formulates it."""
    return f"{generate_name}{revision[:7]}-{phase}-{int(started)}".lower()
