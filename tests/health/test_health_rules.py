"""``sync.assess``: Argo CD's per-kind health rules on live objects (fixtures in testdata/).

Aspects under test (sync-engine.md §9, testdata/SOURCES.md):
* every Healthy/Progressing/Degraded/Suspended branch of each built-in kind, with the message
  that says why;
* Argo Rollouts: a canary paused at a step is Suspended (v1.0 ``phase: Paused`` and the legacy
  pause condition), aborted/invalid is Degraded, an unobserved generation is Progressing;
* custom resources by their Ready/Stalled/Reconciling conditions; kinds without a rule have none;
* generic rules: deletion is Progressing unless a hook finalizer holds it; a field of the wrong
  type is Unknown naming the field.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from imagebot import sync, yamldoc
from imagebot.model.health import Health, HealthStatus

TESTDATA = Path(__file__).parent / "testdata"

HEALTHY, SUSPENDED, PROGRESSING = HealthStatus.HEALTHY, HealthStatus.SUSPENDED, HealthStatus.PROGRESSING
DEGRADED, UNKNOWN = HealthStatus.DEGRADED, HealthStatus.UNKNOWN


def load(name: str) -> dict[str, Any]:
    [obj] = yamldoc.load_all_plain((TESTDATA / f"{name}.yaml").read_text())
    return obj


CASES = [
    # Deployment
    ("deployment-healthy", HEALTHY, ""),
    ("deployment-progressing-generation", PROGRESSING, "observed deployment generation less than desired"),
    ("deployment-progressing-updating", PROGRESSING, "1 out of 3 new replicas have been updated"),
    ("deployment-progressing-old-replicas", PROGRESSING, "1 old replicas are pending termination"),
    ("deployment-progressing-unavailable", PROGRESSING, "1 of 3 updated replicas are available"),
    ("deployment-degraded", DEGRADED, 'Deployment "guestbook-ui" exceeded its progress deadline: '
                                      'ReplicaSet "guestbook-ui-75dd4d49d5" has timed out progressing.'),
    ("deployment-suspended", SUSPENDED, "Deployment is paused"),
    # StatefulSet
    ("statefulset-healthy", HEALTHY, "rolling update complete 1 pods at revision redis-master-7b8f75b98"),
    ("statefulset-progressing-ready", PROGRESSING, "Waiting for 2 pods to be ready"),
    ("statefulset-progressing-revision", PROGRESSING, "complete 1 pods at revision redis-master-84c5dd6f9"),
    ("statefulset-partitioned", PROGRESSING, "1 out of 3 new pods have been updated"),
    ("statefulset-ondelete", HEALTHY, "statefulset has 1 ready pods"),
    ("statefulset-unobserved", PROGRESSING, "spec update to be observed"),
    # DaemonSet
    ("daemonset-healthy", HEALTHY, ""),
    ("daemonset-progressing", PROGRESSING, '"node-exporter" rollout to finish: 1 out of 3 new pods'),
    ("daemonset-ondelete", HEALTHY, "0 out of 3 new pods have been updated"),
    # ReplicaSet
    ("replicaset-healthy", HEALTHY, ""),
    ("replicaset-progressing", PROGRESSING, "1 out of 3 new replicas are available"),
    ("replicaset-degraded", DEGRADED, "FailedCreate: pods \"guestbook-ui-6b8cf6f7db-x2k9p\" is forbidden: exceeded quota"),
    # Pod
    ("pod-running-ready", HEALTHY, ""),
    ("pod-pending", PROGRESSING, "Pod is pending"),
    ("pod-crashloop", DEGRADED, "container 'api': CrashLoopBackOff: back-off 2m40s restarting failed container"),
    ("pod-imagepullbackoff", DEGRADED, 'ImagePullBackOff: Back-off pulling image "ghcr.io/example/api:9.9.9"'),
    ("pod-error-restarted", DEGRADED, "container 'main' is not ready and was restarted (last exit: Error, code 1)"),
    ("pod-running-not-ready", PROGRESSING, "Pod is running but not ready"),
    ("pod-running-restart-never", PROGRESSING, "restartPolicy Never"),
    ("pod-running-restart-onfailure-ignored", HEALTHY, ""),
    ("pod-failed", DEGRADED, "container 'migrate' failed with exit code 2"),
    ("pod-oomkilled", DEGRADED, "OOMKilled"),
    ("pod-evicted", DEGRADED, "The node was low on resource: ephemeral-storage"),
    ("pod-succeeded", HEALTHY, ""),
    ("pod-deleting", PROGRESSING, "Pending deletion"),
    # Service, Ingress
    ("svc-clusterip", HEALTHY, ""),
    ("svc-loadbalancer-pending", PROGRESSING, "Waiting for the load balancer to get an address"),
    ("svc-loadbalancer-ready", HEALTHY, ""),
    ("ingress-ready", HEALTHY, ""),
    ("ingress-pending", PROGRESSING, "status.loadBalancer.ingress is empty"),
    ("ingress-extensions-ready", HEALTHY, ""),
    # PersistentVolumeClaim
    ("pvc-bound", HEALTHY, ""),
    ("pvc-pending", PROGRESSING, "Waiting for the claim to be bound"),
    ("pvc-lost", DEGRADED, "lost its volume"),
    # Job, CronJob
    ("job-running", PROGRESSING, "Job running: 1 active, 0 succeeded, 0 failed"),
    ("job-complete", HEALTHY, ""),
    ("job-failed", DEGRADED, "BackoffLimitExceeded: Job has reached the specified backoff limit"),
    ("job-suspended", SUSPENDED, "Job suspended"),
    ("job-resumed", PROGRESSING, "Job running: 1 active"),
    ("cronjob-healthy", HEALTHY, "CronJob has completed its last execution successfully"),
    ("cronjob-degraded", DEGRADED, "CronJob has not completed its last execution successfully"),
    ("cronjob-active", HEALTHY, "The job is running"),
    ("cronjob-never-scheduled", HEALTHY, "CronJob has not been scheduled yet"),
    ("cronjob-never-succeeded", HEALTHY, "never completed successfully"),
    ("cronjob-suspended", HEALTHY, "CronJob is suspended"),
    # HorizontalPodAutoscaler
    ("hpa-v1-healthy", HEALTHY, "recommended size matches current size"),
    ("hpa-v1-degraded", DEGRADED, "unable to get the target's current scale"),
    ("hpa-v1-no-conditions", PROGRESSING, "Waiting to Autoscale"),
    ("hpa-v2beta2-healthy", HEALTHY, "recent recommendations were higher"),
    ("hpa-v2-degraded", DEGRADED, "failed to get cpu utilization"),
    ("hpa-v2-progressing", PROGRESSING, "Waiting to Autoscale"),
    # APIService, CustomResourceDefinition
    ("apiservice-available", HEALTHY, "Passed: all checks passed"),
    ("apiservice-unavailable", PROGRESSING, "MissingEndpoints: endpoints for service/metrics-server"),
    ("crd-established", HEALTHY, "CRD is healthy"),
    ("crd-names-conflict", DEGRADED, 'CRD names have not been accepted: "po" is already in use'),
    # Argo Rollouts
    ("rollout-canary-paused-at-step", SUSPENDED, "canary paused at step 2/4 (setWeight 20): CanaryPauseStep"),
    ("rollout-legacy-pause-condition", SUSPENDED, "canary paused at step 2/2 (setWeight 25): Rollout is paused"),
    ("rollout-healthy", HEALTHY, ""),
    ("rollout-aborted", DEGRADED, 'RolloutAborted: Rollout aborted update to revision 4'),
    ("rollout-legacy-invalid-spec", DEGRADED, "Rollout has missing field '.spec.strategy.canary"),
    ("rollout-legacy-set-weight", PROGRESSING, "More replicas need to be updated"),
    ("rollout-new-generation", PROGRESSING, "Waiting for rollout spec update to be observed"),
    ("rollout-bluegreen-cutover-pending", PROGRESSING, "active service cutover pending"),
    # custom resources with kstatus-style conditions
    ("kustomization-ready", HEALTHY, "ReconciliationSucceeded: Applied revision: main@sha1:3a1b2c3d"),
    ("kustomization-build-failed", DEGRADED, "BuildFailed: kustomize build failed"),
    ("kustomization-reconciling", PROGRESSING, "Progressing: Reconciliation in progress"),
    ("kustomization-suspended", SUSPENDED, "Kustomization is suspended"),
    ("database-stalled", DEGRADED, 'InvalidStorageClass: storage class "fast" not found'),
    ("database-unobserved", PROGRESSING, "observe the latest generation"),
    # a field of the wrong type
    ("deployment-malformed", UNKNOWN, "cannot assess Deployment: spec.replicas is not an integer: 'three'"),
]


@pytest.mark.parametrize(("name", "status", "message"), [pytest.param(*case, id=case[0]) for case in CASES])
def test_rule(name: str, status: HealthStatus, message: str) -> None:
    health = sync.assess(load(name))
    assert health is not None
    assert health.status is status
    assert message in health.message
    if status is not HEALTHY:
        assert health.message, "anything not Healthy says why"


def test_every_fixture_has_a_case() -> None:
    named = {case[0] for case in CASES} | {"configmap", "widget-no-conditions"}
    assert {path.stem for path in TESTDATA.glob("*.yaml")} == named


@pytest.mark.parametrize("name", ["configmap", "widget-no-conditions"])
def test_kinds_without_a_rule_have_no_health(name: str) -> None:
    assert sync.assess(load(name)) is None


def test_messages_of_healthy_objects_are_argo_cds() -> None:
    assert sync.assess(load("deployment-healthy")) == Health(HEALTHY)


def test_deletion_is_progressing_unless_a_hook_finalizer_holds_the_object() -> None:
    job = load("job-complete")
    job["metadata"]["deletionTimestamp"] = "2026-11-30T08:30:00Z"
    assert sync.assess(job) == Health(PROGRESSING, "Pending deletion")
    job["metadata"]["finalizers"] = ["argocd.argoproj.io/hook-finalizer"]
    assert sync.assess(job) == Health(HEALTHY)


def test_a_deployment_paused_mid_rollout_is_suspended_not_progressing() -> None:
    deployment = load("deployment-progressing-updating")
    deployment["spec"]["paused"] = True
    assert sync.assess(deployment) == Health(SUSPENDED, "Deployment is paused")


def test_progress_deadline_counts_only_once_the_generation_is_observed() -> None:
    deployment = load("deployment-degraded")
    deployment["metadata"]["generation"] = 5
    health = sync.assess(deployment)
    assert health is not None
    assert health.status is PROGRESSING


def test_restart_policy_defaults_to_always() -> None:
    pod = load("pod-crashloop")
    del pod["spec"]["restartPolicy"]
    health = sync.assess(pod)
    assert health is not None
    assert health.status is DEGRADED


def test_a_waiting_container_of_a_never_restarting_pod_is_not_degraded_yet() -> None:
    pod = load("pod-imagepullbackoff")
    pod["spec"]["restartPolicy"] = "Never"
    assert sync.assess(pod) == Health(PROGRESSING, "Pod is pending")


def test_rollout_without_status_waits_for_the_controller() -> None:
    rollout = load("rollout-healthy")
    del rollout["status"]
    assert sync.assess(rollout) == Health(PROGRESSING, "Waiting for rollout spec update to be observed")


def test_legacy_rollout_at_its_last_step_is_healthy() -> None:
    rollout = load("rollout-legacy-set-weight")
    rollout["status"].update(updatedReplicas=5, stableRS="7f6e5d4c3", currentStepIndex=2)
    assert sync.assess(rollout) == Health(HEALTHY)
    rollout["status"]["stableRS"] = "8566c77b97"
    assert sync.assess(rollout) == Health(PROGRESSING, "Waiting for rollout to finish steps")


def test_rollout_with_an_unknown_phase_is_unknown() -> None:
    rollout = load("rollout-healthy")
    rollout["status"]["phase"] = "Exploded"
    assert sync.assess(rollout) == Health(UNKNOWN, "Rollout phase Exploded")


@pytest.mark.parametrize(("mutate", "field"), [
    pytest.param(lambda o: o["status"].update(conditions="Ready"), "status.conditions is not a list", id="conditions"),
    pytest.param(lambda o: o["metadata"].update(generation="x"), "metadata.generation is not an integer", id="generation"),
    pytest.param(lambda o: o["status"].update(lastScheduleTime="yesterday"), "not a timestamp", id="timestamp"),
])
def test_wrong_types_are_unknown(mutate: Any, field: str) -> None:
    obj = copy.deepcopy(load("cronjob-degraded" if field == "not a timestamp" else "deployment-healthy"))
    mutate(obj)
    health = sync.assess(obj)
    assert health is not None
    assert health.status is UNKNOWN
    assert field in health.message


def test_hpa_v1_conditions_annotation_must_be_json() -> None:
    hpa = load("hpa-v1-healthy")
    hpa["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/conditions"] = "{not json"
    health = sync.assess(hpa)
    assert health == Health(UNKNOWN, "cannot assess HorizontalPodAutoscaler: "
                                     "autoscaling.alpha.kubernetes.io/conditions is not JSON")


def test_objects_without_kind_are_unknown() -> None:
    # items of a raw LIST response carry no apiVersion/kind
    pod = load("pod-running-ready")
    del pod["apiVersion"], pod["kind"]
    assert sync.assess(pod) == Health(UNKNOWN, "cannot assess an object without apiVersion and kind")


@pytest.mark.parametrize(("index", "steps", "message"), [
    pytest.param(0, [{"setWeight": 10}, {"pause": {}}], "canary paused at step 1/2 (setWeight 10): CanaryPauseStep",
                 id="at-a-set-weight"),
    pytest.param(1, [{"pause": {}}, {"pause": {"duration": "1h"}}],
                 "canary paused at step 2/2 (setWeight 0, pause 1h): CanaryPauseStep", id="timed-pause-no-weight"),
    pytest.param(3, [{"setWeight": 20}, {"pause": {}}, {"setWeight": 60}, {"pause": {"duration": 600}}],
                 "canary paused at step 4/4 (setWeight 60, pause 600): CanaryPauseStep", id="last-weight-wins"),
    pytest.param(4, [{"setWeight": 20}, {"pause": {}}, {"setWeight": 60}, {"pause": {}}], "CanaryPauseStep",
                 id="index-past-the-steps"),
    pytest.param(None, [{"setWeight": 20}], "CanaryPauseStep", id="no-index"),
])
def test_a_paused_canary_says_at_which_step(index: int | None, steps: list[object], message: str) -> None:
    rollout = load("rollout-canary-paused-at-step")
    rollout["spec"]["strategy"]["canary"]["steps"] = steps
    if index is None:
        del rollout["status"]["currentStepIndex"]
    else:
        rollout["status"]["currentStepIndex"] = index
    assert sync.assess(rollout) == Health(SUSPENDED, message)


def test_a_paused_blue_green_rollout_names_no_step() -> None:
    rollout = load("rollout-canary-paused-at-step")
    rollout["spec"]["strategy"] = {"blueGreen": {"activeService": "web", "autoPromotionEnabled": False}}
    rollout["status"].update(message="BlueGreenPause", pauseConditions=[
        {"reason": "BlueGreenPause", "startTime": "2026-11-30T21:08:55Z"}])
    assert sync.assess(rollout) == Health(SUSPENDED, "BlueGreenPause")
