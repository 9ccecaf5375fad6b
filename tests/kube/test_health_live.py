"""Health of objects the real controllers wrote: kube-apiserver, kube-controller-manager, test kubelet.

Aspects under test:
* a Deployment whose pods are held Pending is Progressing (a state that stays put), and goes
  Healthy once the rollout to a new template completes;
* ``progressDeadlineSeconds`` running out is Degraded, with the controller's own message;
* a crash-looping Pod is Degraded; its ReplicaSet stays Progressing;
* ``imagebot health -f`` reads what ``kubectl get -o yaml`` printed (a List) and rolls it up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from imagebot import sync
from imagebot.model.health import HealthStatus
from testing.kube import KubeCluster

pytestmark = pytest.mark.integration

HOLD = "kubelet.testing.imagebot.dev/mode"


def deployment(image: str, *, mode: str = "", deadline: int = 600) -> str:
    """A Deployment of two pods, as JSON for ``kubectl apply -f -``; ``mode`` steers the test kubelet."""
    template: dict[str, object] = {"labels": {"app": "web"}}
    if mode:
        template["annotations"] = {HOLD: mode}
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "progressDeadlineSeconds": deadline,
                 "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": template,
                              "spec": {"containers": [{"name": "web", "image": image}]}}},
    })


def items(listing: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The items of a LIST response, with the apiVersion and kind the API leaves out of them."""
    api_version = listing["apiVersion"]
    return [{**item, "apiVersion": api_version, "kind": kind} for item in listing["items"]]


def health_of(obj: dict[str, Any]) -> tuple[HealthStatus | None, str]:
    health = sync.assess(obj)
    return (health.status, health.message) if health is not None else (None, "")


def test_deployment_goes_progressing_then_healthy(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    path = f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/web"
    kube_cluster.kubectl("apply", "-n", kube_namespace, "-f", "-",
                         input=deployment("ghcr.io/example/web:1.0.0", mode="hold"))
    held = kube_cluster.wait_for(path, lambda d: d.get("status", {}).get("updatedReplicas") == 2
                                 and d["status"].get("observedGeneration") == d["metadata"]["generation"])
    assert health_of(held) == (HealthStatus.PROGRESSING,
                               "Waiting for rollout to finish: 0 of 2 updated replicas are available...")

    # the image-update commit: a new template whose pods the kubelet runs
    kube_cluster.kubectl("apply", "-n", kube_namespace, "-f", "-",
                         input=deployment("ghcr.io/example/web:1.1.0"))
    done = kube_cluster.wait_for(path, lambda d: health_of(d)[0] is HealthStatus.HEALTHY)
    assert done["status"]["updatedReplicas"] == done["status"]["availableReplicas"] == 2
    assert done["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/web:1.1.0"
    # the old ReplicaSet scaled to zero, the new one serving: both Healthy
    kube_cluster.wait_for(
        f"/apis/apps/v1/namespaces/{kube_namespace}/replicasets",
        lambda rs: sorted((r["spec"]["replicas"], health_of(r)[0]) for r in items(rs, "ReplicaSet"))
        == [(0, HealthStatus.HEALTHY), (2, HealthStatus.HEALTHY)])


def test_progress_deadline_exceeded_is_degraded(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    kube_cluster.kubectl("apply", "-n", kube_namespace, "-f", "-",
                         input=deployment("ghcr.io/example/web:1.0.0", mode="hold", deadline=2))
    failed = kube_cluster.wait_for(f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/web",
                                   lambda d: health_of(d)[0] is HealthStatus.DEGRADED)
    _, message = health_of(failed)
    assert message.startswith('Deployment "web" exceeded its progress deadline: ReplicaSet "web-')
    assert message.endswith("has timed out progressing.")


def test_crash_looping_pods_are_degraded(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    kube_cluster.kubectl("apply", "-n", kube_namespace, "-f", "-",
                         input=deployment("ghcr.io/example/web:1.0.0", mode="crash"))
    pods_path = f"/api/v1/namespaces/{kube_namespace}/pods"
    pods = kube_cluster.wait_for(pods_path, lambda p: len(p["items"]) == 2 and all(
        pod["status"].get("phase") == "Running" for pod in p["items"]))
    for pod in items(pods, "Pod"):
        status, message = health_of(pod)
        assert status is HealthStatus.DEGRADED
        assert message == "container 'web': CrashLoopBackOff: back-off restarting"

    # the same objects through the CLI, as a user would save them
    listing = kube_cluster.kubectl("get", "-n", kube_namespace, "deployments,replicasets,pods", "-o", "yaml")
    done = subprocess.run([sys.executable, "-m", "imagebot", "health", "-f", "-", "--json"],
                          input=listing, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    kinds = [(o["kind"], o["status"]) for o in report["objects"]]
    assert kinds[0] == ("Deployment", "Progressing")
    assert kinds[1] == ("ReplicaSet", "Progressing")
    assert kinds[2:] == [("Pod", "Degraded"), ("Pod", "Degraded")]
    assert report["status"] == "Degraded"
    assert report["why"].count("CrashLoopBackOff") == 2
