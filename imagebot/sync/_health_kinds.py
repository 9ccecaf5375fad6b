"""Argo CD's health rules for the built-in kinds (gitops-engine ``pkg/health``, CronJob's Lua).

One function per kind, each taking a live object and returning its :class:`Health`; dispatched
by :mod:`imagebot.sync._health`. Messages follow Argo CD's (users search for them) and say
what is awaited whenever the status is not Healthy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from imagebot.model.health import Health, HealthStatus
from imagebot.sync._fields import (
    KubeObject,
    Malformed,
    condition,
    conditions,
    explain,
    get,
    integer,
    is_true,
    items,
    text,
    timestamp,
)

__all__ = [
    "apiservice", "crd", "cronjob", "daemonset", "deployment", "hpa", "ingress", "pod", "pvc",
    "replicaset", "service", "statefulset",
]

HEALTHY, SUSPENDED, PROGRESSING = HealthStatus.HEALTHY, HealthStatus.SUSPENDED, HealthStatus.PROGRESSING
DEGRADED, UNKNOWN = HealthStatus.DEGRADED, HealthStatus.UNKNOWN

IGNORE_RESTART_POLICY = "argocd.argoproj.io/ignore-restart-policy"
HOOK_ANNOTATIONS = ("argocd.argoproj.io/hook", "helm.sh/hook")


def is_hook(obj: KubeObject) -> bool:
    annotations = get(obj, "metadata", "annotations")
    return isinstance(annotations, Mapping) and any(key in annotations for key in HOOK_ANNOTATIONS)


# ---- workloads


def _replicas(obj: KubeObject) -> int:
    return integer(obj, "spec", "replicas", default=1)  # the API's default


def _generation_behind(obj: KubeObject) -> bool:
    return integer(obj, "metadata", "generation") > integer(obj, "status", "observedGeneration")


def deployment(obj: KubeObject) -> Health:
    if get(obj, "spec", "paused") is True:
        return Health(SUSPENDED, "Deployment is paused")
    if _generation_behind(obj):
        return Health(PROGRESSING, "Waiting for rollout to finish: "
                      "observed deployment generation less than desired generation")
    progressing = condition(obj, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        detail = str(progressing.get("message") or "")
        name = text(obj, "metadata", "name")
        return Health(DEGRADED, f'Deployment "{name}" exceeded its progress deadline'
                      + (f": {detail}" if detail else ""))
    wanted, status = _replicas(obj), get(obj, "status")
    updated, total = integer(status, "updatedReplicas"), integer(status, "replicas")
    available = integer(status, "availableReplicas")
    if updated < wanted:
        return Health(PROGRESSING, f"Waiting for rollout to finish: {updated} out of {wanted} "
                      "new replicas have been updated...")
    if total > updated:
        return Health(PROGRESSING, f"Waiting for rollout to finish: {total - updated} old replicas "
                      "are pending termination...")
    if available < updated:
        return Health(PROGRESSING, f"Waiting for rollout to finish: {available} of {updated} "
                      "updated replicas are available...")
    return Health(HEALTHY)


def statefulset(obj: KubeObject) -> Health:
    observed = integer(obj, "status", "observedGeneration")
    if observed == 0 or _generation_behind(obj):
        return Health(PROGRESSING, "Waiting for statefulset spec update to be observed...")
    wanted, status = _replicas(obj), get(obj, "status")
    ready, updated = integer(status, "readyReplicas"), integer(status, "updatedReplicas")
    if ready < wanted:
        return Health(PROGRESSING, f"Waiting for {wanted - ready} pods to be ready...")
    strategy = get(obj, "spec", "updateStrategy") or {}
    if text(strategy, "type") in ("RollingUpdate", "") and isinstance(strategy.get("rollingUpdate"), Mapping):
        partition = integer(strategy, "rollingUpdate", "partition")
        if updated < wanted - partition:
            return Health(PROGRESSING, "Waiting for partitioned roll out to finish: "
                          f"{updated} out of {wanted - partition} new pods have been updated...")
        return Health(HEALTHY, f"partitioned roll out complete: {updated} new pods have been updated...")
    if text(strategy, "type") == "OnDelete":
        return Health(HEALTHY, f"statefulset has {ready} ready pods")
    update_revision, current_revision = text(status, "updateRevision"), text(status, "currentRevision")
    if update_revision != current_revision:
        return Health(PROGRESSING, f"waiting for statefulset rolling update to complete {updated} pods "
                      f"at revision {update_revision}...")
    return Health(HEALTHY, f"statefulset rolling update complete {integer(status, 'currentReplicas')} pods "
                  f"at revision {current_revision}...")


def daemonset(obj: KubeObject) -> Health:
    if _generation_behind(obj):
        return Health(PROGRESSING, "Waiting for rollout to finish: "
                      "observed daemon set generation less than desired generation")
    status, name = get(obj, "status"), text(obj, "metadata", "name")
    desired, updated = integer(status, "desiredNumberScheduled"), integer(status, "updatedNumberScheduled")
    available = integer(status, "numberAvailable")
    if text(obj, "spec", "updateStrategy", "type") == "OnDelete":
        return Health(HEALTHY, f"daemon set {updated} out of {desired} new pods have been updated")
    if updated < desired:
        return Health(PROGRESSING, f'Waiting for daemon set "{name}" rollout to finish: {updated} out of '
                      f"{desired} new pods have been updated...")
    if available < desired:
        return Health(PROGRESSING, f'Waiting for daemon set "{name}" rollout to finish: {available} of '
                      f"{desired} updated pods are available...")
    return Health(HEALTHY)


def replicaset(obj: KubeObject) -> Health:
    if _generation_behind(obj):
        return Health(PROGRESSING, "Waiting for rollout to finish: "
                      "observed replica set generation less than desired generation")
    failure = condition(obj, "ReplicaFailure")
    if is_true(failure):
        assert failure is not None
        return Health(DEGRADED, explain(failure))
    wanted, available = _replicas(obj), integer(obj, "status", "availableReplicas")
    if available < wanted:
        return Health(PROGRESSING, f"Waiting for rollout to finish: {available} out of {wanted} "
                      "new replicas are available...")
    return Health(HEALTHY)


def pod(obj: KubeObject) -> Health:
    annotations = get(obj, "metadata", "annotations") or {}
    policy = text(obj, "spec", "restartPolicy") or "Always"
    if annotations.get(IGNORE_RESTART_POLICY) == "true" and not is_hook(obj):
        policy = "Always"
    status = get(obj, "status")
    message = text(status, "message")
    containers = [c for c in items(status, "containerStatuses") if isinstance(c, Mapping)]
    init_containers = [c for c in items(status, "initContainerStatuses") if isinstance(c, Mapping)]
    if policy == "Always":
        stuck = []
        for container in containers:
            reason = text(container, "state", "waiting", "reason")
            if reason.startswith("Err") or reason.endswith(("Error", "BackOff")):
                detail = text(container, "state", "waiting", "message")
                said = f"container {text(container, 'name')!r}: {reason}"
                stuck.append(f"{said}: {detail}" if detail else said)
        if stuck:
            return Health(DEGRADED, ", ".join(stuck))
    phase = text(status, "phase")
    if phase == "Pending":
        return Health(PROGRESSING, message or "Pod is pending")
    if phase == "Succeeded":
        return Health(HEALTHY, message)
    if phase == "Failed":
        if message:
            return Health(DEGRADED, message)
        for container in [*init_containers, *containers]:
            if failure := _terminated_message(container):
                return Health(DEGRADED, failure)
        return Health(DEGRADED, "Pod failed")
    if phase == "Running":
        if policy != "Always":
            waiting = f"Pod is running (restartPolicy {policy}: waiting for it to finish)"
            return Health(PROGRESSING, message or waiting)
        if is_true(condition(obj, "Ready")):
            return Health(HEALTHY, message)
        for container in containers:
            last = get(container, "lastState", "terminated")
            if isinstance(last, Mapping):
                restarted = (f"container {text(container, 'name')!r} is not ready and was restarted "
                             f"(last exit: {text(last, 'reason') or 'terminated'}, "
                             f"code {integer(last, 'exitCode')})")
                return Health(DEGRADED, message or restarted)
        return Health(PROGRESSING, message or "Pod is running but not ready")
    return Health(UNKNOWN, message or f"Pod phase {phase or '(none)'}")


def _terminated_message(container: Mapping[str, Any]) -> str:
    terminated = get(container, "state", "terminated")
    if not isinstance(terminated, Mapping):
        return ""
    if message := text(terminated, "message"):
        return message
    if text(terminated, "reason") == "OOMKilled":
        return "OOMKilled"
    if code := integer(terminated, "exitCode"):
        return f"container {text(container, 'name')!r} failed with exit code {code}"
    return ""


# ---- networking, storage, batch, autoscaling, aggregation


def _load_balanced(obj: KubeObject, waiting: str) -> Health:
    if items(obj, "status", "loadBalancer", "ingress"):
        return Health(HEALTHY)
    return Health(PROGRESSING, waiting)


def service(obj: KubeObject) -> Health:
    if text(obj, "spec", "type") == "LoadBalancer":
        return _load_balanced(obj, "Waiting for the load balancer to get an address")
    return Health(HEALTHY)


def ingress(obj: KubeObject) -> Health:
    # many ingress controllers never publish an address: such Ingresses stay Progressing, as in
    # Argo CD (argoproj/argo-cd#14607); the message says what is missing
    return _load_balanced(obj, "Waiting for the ingress controller to publish an address "
                          "(status.loadBalancer.ingress is empty)")


def pvc(obj: KubeObject) -> Health:
    phase = text(obj, "status", "phase")
    if phase == "Bound":
        return Health(HEALTHY)
    if phase == "Pending":
        return Health(PROGRESSING, "Waiting for the claim to be bound (a WaitForFirstConsumer "
                      "storage class binds it when a pod uses it)")
    if phase == "Lost":
        return Health(DEGRADED, "The claim lost its volume")
    return Health(UNKNOWN, f"PersistentVolumeClaim phase {phase or '(none)'}")


def job(obj: KubeObject) -> Health:
    # Argo CD also treats Complete/Failed conditions whose status is not "True" as terminal;
    # only "True" counts here, so a resumed Job (Suspended=False) is Progressing, not Healthy
    failed, complete = condition(obj, "Failed"), condition(obj, "Complete")
    suspended = condition(obj, "Suspended")
    if is_true(failed):
        assert failed is not None
        return Health(DEGRADED, explain(failed) or "Job failed")
    if is_true(complete):
        assert complete is not None
        return Health(HEALTHY, str(complete.get("message") or ""))
    if is_true(suspended):
        assert suspended is not None
        return Health(SUSPENDED, str(suspended.get("message") or "Job suspended"))
    status = get(obj, "status")
    return Health(PROGRESSING, f"Job running: {integer(status, 'active')} active, "
                  f"{integer(status, 'succeeded')} succeeded, {integer(status, 'failed')} failed")


def cronjob(obj: KubeObject) -> Health:
    # Argo CD's Lua rule: a suspended CronJob is deliberately Healthy (argoproj/argo-cd#24428)
    if get(obj, "spec", "suspend") is True:
        return Health(HEALTHY, "CronJob is suspended")
    status = get(obj, "status")
    if not isinstance(status, Mapping):
        return Health(PROGRESSING, "Waiting for CronJob")
    scheduled = text(status, "lastScheduleTime")
    if not scheduled:
        return Health(HEALTHY, "CronJob has not been scheduled yet")
    succeeded = text(status, "lastSuccessfulTime")
    if not succeeded:
        return Health(HEALTHY, "The CronJob never completed successfully. It may not be healthy")
    if items(status, "active"):
        return Health(HEALTHY, "The job is running. Its last execution may not have been successful")
    if timestamp(succeeded) < timestamp(scheduled):
        return Health(DEGRADED, "CronJob has not completed its last execution successfully")
    return Health(HEALTHY, "CronJob has completed its last execution successfully")


_HPA_DEGRADED = {("AbleToScale", "FailedGetScale"), ("AbleToScale", "FailedUpdateScale"),
                 ("ScalingActive", "FailedGetResourceMetric"), ("ScalingActive", "InvalidSelector")}


def hpa(obj: KubeObject) -> Health:
    waiting = Health(PROGRESSING, "Waiting to Autoscale")
    if text(obj, "apiVersion") == "autoscaling/v1":
        # v1 keeps the conditions in an annotation, as JSON
        raw = text(obj, "metadata", "annotations", "autoscaling.alpha.kubernetes.io/conditions")
        try:
            found = json.loads(raw) if raw else []
        except ValueError:
            raise Malformed("autoscaling.alpha.kubernetes.io/conditions is not JSON") from None
        if not isinstance(found, list):
            raise Malformed("autoscaling.alpha.kubernetes.io/conditions is not a list")
    else:
        found = conditions(obj)
    for cond in found:
        if not isinstance(cond, Mapping):
            continue
        if (cond.get("type"), cond.get("reason")) in _HPA_DEGRADED:
            return Health(DEGRADED, str(cond.get("message") or ""))
        if cond.get("type") in ("AbleToScale", "ScalingLimited") and is_true(cond):
            return Health(HEALTHY, str(cond.get("message") or ""))
    return waiting


def apiservice(obj: KubeObject) -> Health:
    available = condition(obj, "Available")
    if available is None:
        return Health(PROGRESSING, "Waiting to be processed")
    return Health(HEALTHY if is_true(available) else PROGRESSING, explain(available))


def crd(obj: KubeObject) -> Health:
    found = conditions(obj)
    if not found:
        return Health(PROGRESSING, "Status conditions not found")
    established = False
    for cond in found:
        kind, message = cond.get("type"), str(cond.get("message") or "")
        if kind == "Terminating" and is_true(cond):
            return Health(PROGRESSING, f"CRD is terminating: {message}")
        if kind == "NamesAccepted" and str(cond.get("status")) == "False":
            return Health(DEGRADED, f"CRD names have not been accepted: {message}")
        if kind == "NonStructuralSchema" and is_true(cond):
            return Health(DEGRADED, f"Schema violations found: {message}")
        if kind == "Established":
            if is_true(cond):
                established = True
            elif cond.get("reason") == "Installing":
                return Health(PROGRESSING, "CRD is being installed")
    if not established:
        return Health(DEGRADED, "CRD is not established")
    return Health(HEALTHY, "CRD is healthy")
