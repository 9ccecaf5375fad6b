"""The sync stage: render each Application/Kustomization at its Git revision and apply it.

Callers (the ``sync`` and ``apps`` commands, ``serve``'s loop) expand ApplicationSets with
:func:`generate`, apply their ``applicationsSync`` policy with :func:`settle` (and delete what it
drops with :func:`delete_dropped`), build
:class:`SyncUnit` values with :func:`units`,
check them out with :class:`Sources`, :func:`render` them, and — with a cluster — reconcile them.
The health of live objects (``assess``) and its roll-up with reasons (``rollup``) are used by
``imagebot health``, ``imagebot apps`` and the wave gating. See ``docs/sync.md``.
"""

from __future__ import annotations

from imagebot.sync._appsets import APPSET_CLONES, AppSetFailure, Generated, generate
from imagebot.sync._cluster import FIELD_MANAGER, KubernetesCluster, connect
from imagebot.sync._deletion import delete_application, delete_dropped
from imagebot.sync._health import KubeObject, assess, missing, resource_health, rollup
from imagebot.sync._hooks import phases as _phases_of
from imagebot.sync._kubeconfig import context_for, default_kubeconfig, read_kubeconfig
from imagebot.sync._order import sort_key
from imagebot.sync._policies import Settled, settle
from imagebot.sync._reconcile import SyncOptions, status, sync_unit
from imagebot.sync._render import Manifest, Render, render
from imagebot.sync._source import Sources
from imagebot.sync._units import SyncUnit, git_ref, select, units


def hook_phases(manifest: Manifest) -> tuple[str, ...]:
    """The hook phases of a rendered object (``()`` for an ordinary one), in run order."""
    return _phases_of(manifest.body)


__all__ = [
    "APPSET_CLONES",
    "FIELD_MANAGER",
    "AppSetFailure",
    "Generated",
    "KubeObject",
    "KubernetesCluster",
    "Manifest",
    "Render",
    "Settled",
    "Sources",
    "SyncOptions",
    "SyncUnit",
    "assess",
    "connect",
    "context_for",
    "default_kubeconfig",
    "delete_application",
    "delete_dropped",
    "generate",
    "git_ref",
    "hook_phases",
    "missing",
    "read_kubeconfig",
    "render",
    "resource_health",
    "rollup",
    "select",
    "settle",
    "sort_key",
    "status",
    "sync_unit",
    "units",
]

