"""Argo Rollouts on the real kube-apiserver 1.20: the Rollout CRD installed, Rollouts synced like
any kind, health following the status a Rollouts controller writes.

No Rollouts controller runs here: the test plays it, writing ``status`` through the status
subresource (validated against the CRD's real status schema) as Argo Rollouts v1.x does.

Aspects under test:
* a Rollout is applied by ``imagebot sync``; without status it is Progressing;
* a canary paused at a step is Suspended, and ``imagebot apps`` / ``imagebot health`` say which
  step (``canary paused at step 2/4 (setWeight 20)``);
* promoted to the end with the stable ReplicaSet the desired one: Healthy;
* an image update is Progressing until the controller observed it; an abort is Degraded;
* a wave after a Rollout waits until the Rollout is Healthy.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from imagebot import cli, sync, yamldoc
from imagebot.model.cluster import SyncResult
from testing.kube import KubeCluster, KubeError
from tests.sync.units import configmap, unit, write_tree

pytestmark = pytest.mark.integration

CRD = Path(__file__).parent / "data" / "rollout-crd.yaml"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rollouts.argoproj.io"
NOW = "2026-12-07T03:00:00Z"


@pytest.fixture
def rollout_crd(kube_cluster: KubeCluster) -> None:
    """The trimmed Rollout CRD (tests/sync/data/rollout-crd.yaml), installed once per cluster."""
    [crd] = yamldoc.load_all_plain(CRD.read_text())
    with contextlib.suppress(KubeError):  # another test installed it already
        kube_cluster.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    kube_cluster.wait_for(CRD_PATH, lambda c: any(
        x.get("type") == "Established" and x.get("status") == "True"
        for x in (c.get("status") or {}).get("conditions") or []))


def rollout(image: str, *, wave: int = 0) -> str:
    annotations = f"\n  annotations: {{argocd.argoproj.io/sync-wave: '{wave}'}}" if wave else ""
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web{annotations}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  strategy:
    canary:
      steps:
        - setWeight: 20
        - pause: {{}}
        - setWeight: 50
        - pause: {{duration: 1h}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: "{image}"}}]
"""


def condition(kind: str, status: str, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": NOW, "lastUpdateTime": NOW}


def paused_at_step_two(generation: int) -> dict[str, Any]:
    """What Argo Rollouts v1.x writes while a canary waits at ``pause: {}`` after setWeight 20."""
    return {
        "observedGeneration": str(generation), "phase": "Paused", "message": "CanaryPauseStep",
        "currentPodHash": "7d5979db69", "stableRS": "77f4f8ff97", "currentStepIndex": 1,
        "currentStepHash": "5b8c6d7f9", "controllerPause": True,
        "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": NOW}],
        "replicas": 2, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2,
        "selector": "app=web", "canary": {"weights": {"canary": {"podTemplateHash": "7d5979db69", "weight": 20},
                                                      "stable": {"podTemplateHash": "77f4f8ff97", "weight": 80}}},
        "conditions": [condition("Available", "True", "AvailableReason", "Rollout has minimum availability"),
                       condition("Paused", "True", "RolloutPaused", "Rollout is paused"),
                       condition("Progressing", "Unknown", "RolloutPaused", "Rollout is paused")],
    }


def healthy(generation: int) -> dict[str, Any]:
    """Promoted through every step: the stable ReplicaSet is the desired one."""
    return {
        "observedGeneration": str(generation), "phase": "Healthy", "message": "",
        "currentPodHash": "7d5979db69", "stableRS": "7d5979db69", "currentStepIndex": 4,
        "currentStepHash": "5b8c6d7f9", "controllerPause": False,
        "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
        "selector": "app=web",
        "conditions": [condition("Available", "True", "AvailableReason", "Rollout has minimum availability"),
                       condition("Paused", "False", "RolloutResumed", "Rollout is resumed"),
                       condition("Progressing", "True", "NewReplicaSetAvailable",
                                 "Rollout has completed rollout"),
                       condition("Healthy", "True", "RolloutHealthy", "Rollout is healthy"),
                       condition("Completed", "True", "RolloutCompleted", "Rollout completed update to revision 1")],
    }


def aborted(generation: int) -> dict[str, Any]:
    message = "Rollout aborted update to revision 2"
    return {
        "observedGeneration": str(generation), "phase": "Degraded", "message": f"RolloutAborted: {message}",
        "abort": True, "abortedAt": NOW, "currentPodHash": "6f8b9c4d7", "stableRS": "7d5979db69",
        "currentStepIndex": 0, "replicas": 2, "updatedReplicas": 0, "readyReplicas": 2,
        "availableReplicas": 2, "selector": "app=web",
        "conditions": [condition("Available", "True", "AvailableReason", "Rollout has minimum availability"),
                       condition("Progressing", "False", "RolloutAborted", message)],
    }


def play_controller(kube_cluster: KubeCluster, path: str, status: dict[str, Any]) -> None:
    """Replace the Rollout's status as the controller's UpdateStatus does (empty fields omitted)."""
    live = kube_cluster.get(path)
    live["status"] = {k: v for k, v in status.items() if v not in (None, "")}
    kube_cluster.request("PUT", f"{path}/status", live)


@pytest.fixture
def layout(tmp_path: Path, kube_namespace: str) -> tuple[Path, Path]:
    app = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: ro-{kube_namespace}, namespace: argocd}}
spec:
  source: {{repoURL: https://git.example/fleet, path: app}}
  destination: {{server: https://kubernetes.default.svc, namespace: {kube_namespace}}}
"""
    return write_tree(tmp_path / "policies", {"app.yaml": app}), tmp_path / "repo"


def test_rollout_health_follows_its_status(rollout_crd: None, kube_cluster: KubeCluster, kube_namespace: str,
                                           layout: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    ns = kube_namespace
    policies, repo = layout
    path = f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts/web"
    common = ["--config", str(policies), "--repo", str(repo), "--kubeconfig", str(kube_cluster.kubeconfig)]

    def imagebot(*argv: str) -> str:
        code = cli.main([*argv, *common])
        out = capsys.readouterr().out
        assert code == 0, out
        return out

    def apps() -> tuple[str, list[str]]:
        [row] = json.loads(imagebot("apps", "--json"))
        return row["health"], row["why"]

    def controller(status: dict[str, Any]) -> None:
        play_controller(kube_cluster, path, status)

    write_tree(repo, {"app/rollout.yaml": rollout("ghcr.io/example/web:1.0.0")})
    out = imagebot("sync")
    assert f"  created  Rollout {ns}/web" in out.splitlines()
    assert apps() == ("Progressing", [f"Rollout {ns}/web: Waiting for rollout spec update to be observed"])

    controller(paused_at_step_two(1))
    step = "canary paused at step 2/4 (setWeight 20): CanaryPauseStep"
    assert apps() == ("Suspended", [f"Rollout {ns}/web: {step}"])
    text = imagebot("apps")
    assert f"Suspended  Rollout {ns}/web: {step}" in text
    # `imagebot health` on what `kubectl get rollout -o yaml` prints says the same
    live = kube_cluster.kubectl("get", "rollout", "web", "-n", ns, "-o", "yaml")
    done = subprocess.run([sys.executable, "-m", "imagebot", "health", "-f", "-"], input=live,
                          capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[1].split(None, 3) == ["Rollout", f"{ns}/web", "Suspended", step]

    controller(healthy(1))
    assert apps() == ("Healthy", [])

    write_tree(repo, {"app/rollout.yaml": rollout("ghcr.io/example/web:1.1.0")})
    out = imagebot("sync")
    assert f"  configured  Rollout {ns}/web" in out.splitlines()
    assert apps() == ("Progressing", [f"Rollout {ns}/web: Waiting for rollout spec update to be observed"])

    controller(aborted(2))
    assert apps() == ("Degraded", [f"Rollout {ns}/web: RolloutAborted: Rollout aborted update to revision 2"])


def test_a_later_wave_waits_for_the_rollout(rollout_crd: None, tmp_path: Path, kube_cluster: KubeCluster,
                                            kube_namespace: str) -> None:
    ns = kube_namespace
    path = f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts/web"
    write_tree(tmp_path, {"app/rollout.yaml": rollout("ghcr.io/example/web:1.0.0"),
                          "app/after.yaml": configmap("after", annotations="{argocd.argoproj.io/sync-wave: '1'}")})
    results: list[SyncResult] = []

    def run() -> None:
        cluster = sync.connect(kube_cluster.kubeconfig)
        try:
            render = sync.render(unit("app", namespace=ns, name=f"ro-{ns}"), tmp_path)
            results.append(sync.sync_unit(render, "rev", cluster, sync.SyncOptions(poll=0.2, wave_timeout=120)))
        finally:
            cluster.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        kube_cluster.wait_for(path, lambda r: r["metadata"]["name"] == "web")
        play_controller(kube_cluster, path, paused_at_step_two(1))
        # Suspended is not Healthy: wave 1 waits (the sync polls every 0.2 s; a second is plenty)
        thread.join(timeout=2)
        assert thread.is_alive()
        with pytest.raises(KubeError):
            kube_cluster.get(f"/api/v1/namespaces/{ns}/configmaps/after")
        play_controller(kube_cluster, path, healthy(1))
    finally:
        thread.join(timeout=120)
    [result] = results
    assert not result.failed, result
    assert [(o.action, str(o.ref)) for o in result.outcomes] == [
        ("created", f"Rollout {ns}/web"), ("created", f"ConfigMap {ns}/after")]
