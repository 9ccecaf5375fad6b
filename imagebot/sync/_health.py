"""Health of live Kubernetes objects, and its roll-up with *why*.

Pure functions over the JSON shape the API server returns (a dict, as ``kubectl get -o yaml``
prints it). Called by the sync engine (wave gating, ``imagebot apps``) and by
``imagebot health -f FILE``. The rules are Argo CD's (``../shared/specs/sync-engine.md`` §9):
the built-in kinds live in :mod:`imagebot.sync._health_kinds`; Argo Rollouts' ``Rollout``
follows Argo CD's bundled Lua check; any other kind that reports ``Ready``/``Stalled``/
``Reconciling`` conditions (Flux objects, most operators) gets the condition rule below; kinds
with neither (ConfigMap, Secret, RBAC, ...) have no health, which counts as fine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from imagebot.model.health import Health, HealthStatus, HealthSummary, ResourceHealth
from imagebot.sync import _health_kinds as kinds
from imagebot.sync._fields import (
    KubeObject,
    Malformed,
    conditions,
    get,
    group,
    integer,
    items,
    text,
)

__all__ = ["MAX_CAUSES", "KubeObject", "assess", "missing", "resource_health", "rollup"]

HEALTHY, SUSPENDED, PROGRESSING = HealthStatus.HEALTHY, HealthStatus.SUSPENDED, HealthStatus.PROGRESSING
MISSING, DEGRADED, UNKNOWN = HealthStatus.MISSING, HealthStatus.DEGRADED, HealthStatus.UNKNOWN

HOOK_FINALIZER = "argocd.argoproj.io/hook-finalizer"
IGNORE_HEALTHCHECK = "argocd.argoproj.io/ignore-healthcheck"
MAX_CAUSES = 3
"""The roll-up names at most this many objects as the cause, as Argo CD does."""


def _rollout(obj: KubeObject) -> Health:
    """Argo Rollouts: Argo CD's ``argoproj.io/Rollout/health.lua``, a pause being Suspended."""
    status = get(obj, "status")
    if not isinstance(status, Mapping) or not _rollout_observed(obj):
        return Health(PROGRESSING, "Waiting for rollout spec update to be observed")
    if phase := text(status, "phase"):  # v1.0+ controllers write their verdict
        verdict = {"Paused": SUSPENDED}.get(phase) or next(
            (s for s in HealthStatus if s.value == phase), UNKNOWN)
        unknown = f"Rollout phase {phase}" if verdict is UNKNOWN else ""
        message = text(status, "message") or unknown
        return Health(verdict, _paused_at(obj, message) if verdict is SUSPENDED else message)
    for cond in conditions(obj):
        if cond.get("type") == "InvalidSpec" or (
            cond.get("type") == "Progressing"
            and cond.get("reason") in ("RolloutAborted", "ProgressDeadlineExceeded")
        ):
            return Health(DEGRADED, str(cond.get("message") or cond.get("reason") or ""))
    if items(status, "pauseConditions") or get(obj, "spec", "paused") is True:
        return Health(SUSPENDED, _paused_at(obj, "Rollout is paused"))
    current = text(status, "currentPodHash")
    if not current:
        return Health(PROGRESSING, "Waiting for rollout to finish: status has not been reconciled.")
    wanted = integer(obj, "spec", "replicas", default=1)
    replicas, updated = integer(status, "replicas"), integer(status, "updatedReplicas")
    if updated < wanted:
        return Health(PROGRESSING, "Waiting for roll out to finish: More replicas need to be updated")
    if integer(status, "availableReplicas") < updated:
        return Health(PROGRESSING,
                      "Waiting for roll out to finish: updated replicas are still becoming available")
    stable = text(status, "stableRS") or text(status, "canary", "stableRS")  # before v0.8: canary.stableRS
    strategy = get(obj, "spec", "strategy") or {}
    if isinstance(strategy, Mapping) and strategy.get("blueGreen") is not None:
        if text(status, "blueGreen", "activeSelector") != current:
            return Health(PROGRESSING, "active service cutover pending")
        if stable and stable != current:
            return Health(PROGRESSING, "waiting for analysis to complete")
    elif isinstance(strategy, Mapping) and strategy.get("canary") is not None:
        if replicas > updated:
            return Health(PROGRESSING, "Waiting for roll out to finish: old replicas are pending termination")
        if stable != current:
            return Health(PROGRESSING, "Waiting for rollout to finish steps")
    return Health(HEALTHY)


def _paused_at(obj: KubeObject, message: str) -> str:
    """``canary paused at step 2/4 (setWeight 20): <message>`` when a canary is at a step.

    The step is ``status.currentStepIndex`` counted from 1 (``kubectl argo rollouts get`` prints
    the index itself, ``Step: 1/4``: the steps completed); the weight is the last ``setWeight`` at
    or before it, as Argo Rollouts' ``GetCurrentSetWeight`` computes it (0 before the first one).
    """
    steps = get(obj, "spec", "strategy", "canary", "steps")
    index = get(obj, "status", "currentStepIndex")
    if not isinstance(steps, list) or not isinstance(index, int) or not 0 <= index < len(steps):
        return message
    weight = next((step["setWeight"] for step in reversed(steps[:index + 1])
                   if isinstance(step, Mapping) and isinstance(step.get("setWeight"), int)), 0)
    what = [f"setWeight {weight}"]
    pause = steps[index].get("pause") if isinstance(steps[index], Mapping) else None
    if isinstance(pause, Mapping) and pause.get("duration") not in (None, ""):
        what.append(f"pause {pause['duration']}")
    where = f"canary paused at step {index + 1}/{len(steps)} ({', '.join(what)})"
    return f"{where}: {message}" if message else where


def _rollout_observed(obj: KubeObject) -> bool:
    observed = get(obj, "status", "observedGeneration")
    generation = integer(obj, "metadata", "generation")
    # before v0.10 observedGeneration was a hash: nothing to compare
    number = observed if isinstance(observed, int) else int(observed) if str(observed).isdigit() else None
    if number is not None and number < generation:
        return False
    workload = get(obj, "metadata", "annotations", "rollout.argoproj.io/workload-generation")
    if get(obj, "spec", "workloadRef") is not None and workload is not None:
        return str(workload) == str(get(obj, "status", "workloadObservedGeneration"))
    return True


def _by_conditions(obj: KubeObject) -> Health | None:
    """Custom resources reporting kstatus-style conditions (Flux, most operators); else no rule."""
    found = {str(c.get("type")): c for c in conditions(obj)}
    ready, stalled, reconciling = found.get("Ready"), found.get("Stalled"), found.get("Reconciling")
    if ready is None and stalled is None and reconciling is None:
        return None
    if get(obj, "spec", "suspend") is True:
        return Health(SUSPENDED, f"{text(obj, 'kind')} is suspended")
    observed = get(obj, "status", "observedGeneration")
    generation = integer(obj, "metadata", "generation")
    if observed is not None and generation > integer(obj, "status", "observedGeneration"):
        return Health(PROGRESSING, "Waiting for the controller to observe the latest generation")

    def said(cond: Mapping[str, object]) -> str:
        reason, message = str(cond.get("reason") or ""), str(cond.get("message") or "")
        return f"{reason}: {message}" if reason and message else reason or message

    if stalled is not None and str(stalled.get("status")) == "True":
        return Health(DEGRADED, said(stalled))
    if reconciling is not None and str(reconciling.get("status")) == "True":
        return Health(PROGRESSING, said(reconciling))
    if ready is None:
        return Health(HEALTHY)
    state = str(ready.get("status"))
    return Health({"True": HEALTHY, "False": DEGRADED}.get(state, PROGRESSING), said(ready))


_RULES: dict[tuple[str, str], Callable[[KubeObject], Health]] = {
    ("apps", "Deployment"): kinds.deployment,
    ("apps", "StatefulSet"): kinds.statefulset,
    ("apps", "DaemonSet"): kinds.daemonset,
    ("apps", "ReplicaSet"): kinds.replicaset,
    ("extensions", "Deployment"): kinds.deployment,
    ("extensions", "DaemonSet"): kinds.daemonset,
    ("extensions", "ReplicaSet"): kinds.replicaset,
    ("", "Pod"): kinds.pod,
    ("", "Service"): kinds.service,
    ("", "PersistentVolumeClaim"): kinds.pvc,
    ("networking.k8s.io", "Ingress"): kinds.ingress,
    ("extensions", "Ingress"): kinds.ingress,
    ("batch", "Job"): kinds.job,
    ("batch", "CronJob"): kinds.cronjob,
    ("autoscaling", "HorizontalPodAutoscaler"): kinds.hpa,
    ("apiregistration.k8s.io", "APIService"): kinds.apiservice,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): kinds.crd,
    ("argoproj.io", "Rollout"): _rollout,
}


def assess(obj: KubeObject) -> Health | None:
    """The health of one live object; ``None`` when its kind has no health (ConfigMap, Role...).

    >>> assess({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}}).message
    'Waiting for the load balancer to get an address'

    A field of the wrong type gives ``Unknown`` naming the field, never an exception. The object
    must carry ``apiVersion`` and ``kind`` (items of a raw LIST response do not: add them).
    """
    finalizers = get(obj, "metadata", "finalizers")
    if get(obj, "metadata", "deletionTimestamp") and not (
        isinstance(finalizers, list) and HOOK_FINALIZER in finalizers
    ):
        return Health(PROGRESSING, "Pending deletion")
    if not text(obj, "kind") or not text(obj, "apiVersion"):
        # items of a raw LIST response carry neither: the caller must add them
        return Health(UNKNOWN, "cannot assess an object without apiVersion and kind")
    rule = _RULES.get((group(obj), text(obj, "kind")))
    try:
        return rule(obj) if rule is not None else _by_conditions(obj)
    except Malformed as exc:
        return Health(UNKNOWN, f"cannot assess {text(obj, 'kind') or 'object'}: {exc}")


def resource_health(obj: KubeObject) -> ResourceHealth:
    """:func:`assess` with the object's identity, and whether the roll-up counts it."""
    annotations = get(obj, "metadata", "annotations")
    ignored = isinstance(annotations, Mapping) and str(annotations.get(IGNORE_HEALTHCHECK)) == "true"
    return ResourceHealth(
        kind=text(obj, "kind"), name=text(obj, "metadata", "name"),
        namespace=text(obj, "metadata", "namespace"), group=group(obj),
        health=assess(obj), counted=not ignored and not kinds.is_hook(obj),
    )


def missing(*, kind: str, name: str, namespace: str = "", group: str = "") -> ResourceHealth:
    """A desired object that is not in the cluster."""
    return ResourceHealth(kind=kind, name=name, namespace=namespace, group=group,
                          health=Health(MISSING, "not found in the cluster"))


def rollup(resources: Iterable[ResourceHealth]) -> HealthSummary:
    """The worst health of the counted objects, naming the objects that caused it.

    Argo CD's aggregation: Healthy < Suspended < Progressing < Missing < Degraded < Unknown;
    hooks, ``ignore-healthcheck`` objects and kinds without health are skipped; a missing object
    alone does not lower the health (the sync status says it is missing) unless *every* object
    is missing. ``causes`` lists up to :data:`MAX_CAUSES` objects with the reported status.
    """
    counted = [r for r in resources if r.counted and r.health is not None]
    live = [r for r in counted if r.health is not None and r.health.status is not MISSING]
    if counted and not live:
        return HealthSummary(MISSING, tuple(counted[:MAX_CAUSES]), more=len(counted) - MAX_CAUSES)
    statuses = [r.health.status for r in live if r.health is not None]
    worst = max(statuses, key=lambda s: s.severity, default=HEALTHY)
    if worst is HEALTHY:
        return HealthSummary(HEALTHY)
    causes = [r for r in live if r.health is not None and r.health.status is worst]
    return HealthSummary(worst, tuple(causes[:MAX_CAUSES]), more=len(causes) - MAX_CAUSES)
