"""The real control plane of the test suite: scripts/kube-up, the test kubelet, scripts/kube-down.

Aspects under test:
* the apiserver built from Debian's source answers (version, /readyz) with the kubeconfig kube-up wrote;
* a custom resource round-trips (the vendored reflect2 that crashed with Go >= 1.18 is replaced);
* a Deployment applied with kubectl gets a ReplicaSet and Pods from the real controllers, and the
  test kubelet makes it Available; a Pod marked ``hold`` stays Pending;
* a second control plane can run beside the session's, and kube-down stops exactly its processes;
* with --watch-pid, the control plane stops by itself when the watched process (the session) exits.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from testing.kube import SCRIPTS, KubeCluster, script_env

pytestmark = pytest.mark.integration

DEPLOYMENT = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicas: 2
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
          - name: web
            image: ghcr.io/example/web:1.0.0
""")


def test_apiserver_answers_with_the_kubeconfig(kube_cluster: KubeCluster) -> None:
    assert kube_cluster.get("/version")["gitVersion"] == "v1.20.2"
    assert "ok" in kube_cluster.kubectl("get", "--raw", "/readyz")
    config = json.loads(kube_cluster.kubeconfig.read_text())
    assert config["clusters"][0]["cluster"]["server"] == kube_cluster.server
    assert kube_cluster.server.startswith("https://127.0.0.1:")
    assert oct(kube_cluster.kubeconfig.stat().st_mode & 0o777) == "0o600"


def test_custom_resources_round_trip(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    plural = f"widgets{kube_namespace.rsplit('-', 1)[1]}"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.test.imagebot.dev"},
        "spec": {"group": "test.imagebot.dev", "scope": "Namespaced",
                 "names": {"plural": plural, "singular": plural[:-1], "kind": f"W{plural[1:-1]}"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
    }
    kube_cluster.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    try:
        kube_cluster.wait_for(
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.test.imagebot.dev",
            # a new CRD's status can hold "conditions": null before the controller fills it in
            lambda obj: any(c["type"] == "Established" and c["status"] == "True"
                            for c in (obj.get("status") or {}).get("conditions") or []))
        path = f"/apis/test.imagebot.dev/v1/namespaces/{kube_namespace}/{plural}"
        body = {"apiVersion": "test.imagebot.dev/v1", "kind": crd["spec"]["names"]["kind"],
                "metadata": {"name": "one", "labels": {"a": "b"}}, "spec": {"size": 3}}
        kube_cluster.wait_for(path, lambda _: True)  # served once discovery caught up
        kube_cluster.request("POST", path, body)
        # a LIST with a label selector iterates a map inside json-iterator: where 1.0.1 crashed
        listed = kube_cluster.get(f"{path}?labelSelector=a%3Db")
        assert [item["spec"] for item in listed["items"]] == [{"size": 3}]
    finally:
        kube_cluster.request("DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}")


def test_deployment_rolls_out_with_the_test_kubelet(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    kube_cluster.kubectl("apply", "-n", kube_namespace, "-f", "-", input=DEPLOYMENT)
    deployment = kube_cluster.wait_for(
        f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/web",
        lambda obj: obj.get("status", {}).get("availableReplicas") == 2)
    conditions = {c["type"]: c for c in deployment["status"]["conditions"]}
    assert conditions["Available"]["status"] == "True"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    replicasets = kube_cluster.get(f"/apis/apps/v1/namespaces/{kube_namespace}/replicasets")["items"]
    assert [rs["metadata"]["ownerReferences"][0]["name"] for rs in replicasets] == ["web"]
    pods = kube_cluster.get(f"/api/v1/namespaces/{kube_namespace}/pods")["items"]
    assert len(pods) == 2
    assert {pod["status"]["phase"] for pod in pods} == {"Running"}
    assert "deployment \"web\" successfully rolled out" in kube_cluster.kubectl(
        "rollout", "status", "-n", kube_namespace, "deployment/web", "--timeout=60s")


def test_a_held_pod_stays_pending(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    held = DEPLOYMENT.replace("      labels: {app: web}\n    spec:",
                              "      labels: {app: web}\n"
                              "      annotations: {kubelet.testing.imagebot.dev/mode: hold}\n    spec:")
    assert held != DEPLOYMENT
    kube_cluster.kubectl("apply", "-n", kube_namespace, "-f", "-", input=held)
    kube_cluster.wait_for(f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/web",
                          lambda obj: obj.get("status", {}).get("updatedReplicas") == 2)
    # the kubelet has seen these pods (it runs every 0.2 s); a control pod shows it is running
    kube_cluster.request("POST", f"/api/v1/namespaces/{kube_namespace}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "control"},
        "spec": {"containers": [{"name": "c", "image": "ghcr.io/example/web:1.0.0"}]}})
    kube_cluster.wait_for(f"/api/v1/namespaces/{kube_namespace}/pods/control",
                          lambda obj: obj.get("status", {}).get("phase") == "Running")
    pods = kube_cluster.get(f"/api/v1/namespaces/{kube_namespace}/pods?labelSelector=app%3Dweb")["items"]
    assert [pod["status"]["phase"] for pod in pods] == ["Pending", "Pending"]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_kube_down_stops_exactly_what_kube_up_started(tmp_path: Path, kube_cluster: KubeCluster) -> None:
    state = tmp_path / "second"
    up = subprocess.run([str(SCRIPTS / "kube-up"), str(state), "--no-kubelet"],
                        capture_output=True, text=True, timeout=300, check=False, env=script_env())
    assert up.returncode == 0, up.stderr
    assert up.stdout.strip() == str(state / "kubeconfig")
    second = KubeCluster.load(state)
    assert second.server != kube_cluster.server
    pids = json.loads((state / "cluster.json").read_text())["pids"]
    assert set(pids) == {"etcd", "kube-apiserver", "kube-controller-manager"}
    assert all(_alive(pid) for pid in pids.values())
    again = subprocess.run([str(SCRIPTS / "kube-up"), str(state)], capture_output=True, text=True, check=False,
                           env=script_env())
    assert again.returncode == 1
    assert "kube-down" in again.stderr

    subprocess.run([str(SCRIPTS / "kube-down"), str(state)], check=True, timeout=60, env=script_env())
    assert not any(_alive(pid) for pid in pids.values())
    assert not list((state / "pids").glob("*.pid"))
    # the session's cluster is untouched
    assert kube_cluster.kubectl("get", "--raw", "/readyz").strip() == "ok"


def test_watch_pid_stops_the_cluster_when_the_session_dies(tmp_path: Path) -> None:
    state = tmp_path / "watched"
    session = subprocess.Popen(["sleep", "600"])
    try:
        up = subprocess.run([str(SCRIPTS / "kube-up"), str(state), "--no-kubelet", "--watch-pid", str(session.pid)],
                            capture_output=True, text=True, timeout=300, check=False, env=script_env())
        assert up.returncode == 0, up.stderr
        pids = json.loads((state / "cluster.json").read_text())["pids"]
        watcher = int((state / "pids" / "watcher.pid").read_text().split()[0])
        assert all(_alive(pid) for pid in [*pids.values(), watcher])
    finally:
        session.kill()
        session.wait()
    deadline = time.monotonic() + 60
    while any(_alive(pid) for pid in [*pids.values(), watcher]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in [*pids.values(), watcher])
    assert not list((state / "pids").glob("*.pid"))
