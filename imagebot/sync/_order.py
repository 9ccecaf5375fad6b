"""Apply order, as Argo CD's gitops-engine sorts sync tasks: sync-wave, then kind, then name.

Kinds follow Argo CD's list (Namespaces, quotas, ServiceAccounts, Secrets/ConfigMaps, storage,
CRDs, RBAC, Services, workloads, Ingresses, APIServices), unknown kinds (custom resources) last.
Prune order mirrors it. Called by :mod:`imagebot.sync._reconcile`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TypeVar

from imagebot.model.cluster import RenderedObject

__all__ = ["KIND_ORDER", "sort_key", "waves"]

KIND_ORDER: tuple[str, ...] = (
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
    "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
    "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList",
    "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController",
    "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
    "IngressClass", "Ingress", "APIService",
)
_RANK = {kind: index for index, kind in enumerate(KIND_ORDER)}

T = TypeVar("T")


def sort_key(obj: RenderedObject) -> tuple[int, int, str, str, str]:
    ref = obj.ref
    return (obj.wave, _RANK.get(ref.kind, len(KIND_ORDER)), ref.kind, ref.namespace, ref.name)


def waves(items: Iterable[T], info: Sequence[RenderedObject]) -> list[tuple[int, list[T]]]:
    """``items`` (parallel to ``info``) sorted and grouped by wave, lowest wave first."""
    ordered = sorted(zip(items, info, strict=True), key=lambda pair: sort_key(pair[1]))
    return [(wave, [item for item, _ in group])
            for wave, group in itertools.groupby(ordered, key=lambda pair: pair[1].wave)]
