"""The sync engine against a real kube-apiserver 1.20 with kube-controller-manager and the test kubelet.

Aspects under test (the issue's done-when, through the CLI and a real git repository):
* an Application of a kustomize overlay is synced: namespace created, objects applied in order;
* an image-update commit rolls the Deployment to the new image; health goes Progressing -> Healthy;
* a removed manifest is pruned, an object the Application does not own survives;
* a manual edit shows in ``sync --diff``; an empty render prunes nothing;
and the same scenario on the emulator and on the real apiserver gives the same outcomes.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imagebot import cli, sync
from imagebot.model.health import HealthStatus
from testing.gitrepos import git, git_env, write_files
from testing.kube import KubeCluster, KubeError
from testing.kubeapi import KubeEmulator
from tests.sync.scenario import Backend, run_scenario

pytestmark = pytest.mark.integration

MERGE = "application/merge-patch+json"


@pytest.fixture
def fresh_namespace(kube_cluster: KubeCluster) -> Iterator[str]:
    """A namespace name that does not exist yet (CreateNamespace makes it); deleted afterwards."""
    name = f"sync-{uuid.uuid4().hex[:8]}"
    yield name
    with contextlib.suppress(KubeError):
        kube_cluster.request("DELETE", f"/api/v1/namespaces/{name}")


def test_emulator_and_apiserver_agree(tmp_path: Path, kube_cluster: KubeCluster, fresh_namespace: str) -> None:
    real = Backend(kube_cluster.kubeconfig,
                   lambda path, body: kube_cluster.request("PATCH", path, body, content_type=MERGE))
    on_real = run_scenario(real, tmp_path / "real", fresh_namespace)
    with KubeEmulator(tmp_path) as emulator:
        emulated = Backend(emulator.kubeconfig,
                           lambda path, body: emulator.request("PATCH", path, body, content_type=MERGE))
        on_emulator = run_scenario(emulated, tmp_path / "emulated", fresh_namespace)
    assert on_emulator == on_real
    ns = fresh_namespace
    assert on_real[0] == [("created", f"Namespace {ns}"), ("created", f"ConfigMap {ns}/settings"),
                          ("created", f"Service {ns}/web"), ("created", f"Deployment {ns}/web")]
    assert {a for a, _ in on_real[1]} == {"unchanged"}
    assert on_real[3][0][0] == "failed"  # the manual edit's manager owns the field: a conflict
    assert on_real[4][0] == ("configured", f"ConfigMap {ns}/settings")
    assert {("prune-skipped", f"ConfigMap {ns}/held"), ("pruned", f"ConfigMap {ns}/settings")} <= set(on_real[6])
    # the empty render: nothing pruned
    assert {a for a, _ in on_real[7]} == {"prune-skipped"}
    assert ("prune-skipped", f"Deployment {ns}/web") in on_real[7]


def _application(repo: Path, namespace: str) -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: shop-{namespace}, namespace: argocd}}
spec:
  source: {{repoURL: '{repo}', targetRevision: main, path: apps/shop/overlays/dev}}
  destination: {{server: https://kubernetes.default.svc, namespace: {namespace}}}
  syncPolicy:
    automated: {{prune: true}}
    syncOptions: [CreateNamespace=true]
"""


def _deployment() -> str:
    return """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
          ports: [{containerPort: 8080}]
"""


def _overlay(tag: str) -> str:
    return f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
images:
  - name: ghcr.io/example/web
    newTag: "{tag}"
"""


def test_done_when_on_a_real_apiserver(tmp_path: Path, kube_cluster: KubeCluster, fresh_namespace: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    ns = fresh_namespace
    env = git_env(tmp_path / "home")
    repo = tmp_path / "fleet"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo, env=env)
    write_files(repo, {
        "apps/shop/base/kustomization.yaml": "resources: [deployment.yaml, service.yaml, settings.yaml]\n",
        "apps/shop/base/deployment.yaml": _deployment(),
        "apps/shop/base/service.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
                                       "spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n",
        "apps/shop/base/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n",
        "apps/shop/overlays/dev/kustomization.yaml": _overlay("1.0.0"),
    })

    def commit(message: str) -> None:
        git("add", "-A", cwd=repo, env=env)
        git("commit", "-q", "-m", message, cwd=repo, env=env)

    commit("initial")
    policies = tmp_path / "policies"
    write_files(policies, {"app.yaml": _application(repo, ns)})
    common = ["--config", str(policies), "--workdir", str(tmp_path / "work"),
              "--kubeconfig", str(kube_cluster.kubeconfig)]

    def imagebot(*argv: str) -> tuple[int, str]:
        code = cli.main([*argv, *common])
        return code, capsys.readouterr().out

    def deployment() -> dict[str, Any]:
        return kube_cluster.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")

    def apps() -> dict[str, Any]:
        code, out = imagebot("apps", "--json")
        assert code == 0, out
        [row] = json.loads(out)
        return row

    # 1. synced: namespace created, objects applied in order
    code, out = imagebot("sync")
    assert code == 0, out
    assert out.splitlines()[1:] == [
        f"  created  Namespace {ns}  (CreateNamespace=true)",
        f"  created  ConfigMap {ns}/settings",
        f"  created  Service {ns}/web",
        f"  created  Deployment {ns}/web",
    ]
    kube_cluster.wait_for(f"/apis/apps/v1/namespaces/{ns}/deployments/web",
                          lambda d: d.get("status", {}).get("updatedReplicas") == 2
                          and d["status"].get("availableReplicas") == 2)
    assert apps()["health"] == "Healthy"

    # 2. an image-update commit: the Deployment rolls to the new image, Progressing -> Healthy
    write_files(repo, {"apps/shop/overlays/dev/kustomization.yaml": _overlay("1.1.0")})
    commit("chore(images): web 1.1.0")
    code, out = imagebot("sync")
    # read at once: the controllers have not rolled the two pods over yet
    rolling = sync.assess(deployment())
    assert code == 0 and f"configured  Deployment {ns}/web" in out, out
    assert rolling is not None and rolling.status == HealthStatus.PROGRESSING, rolling
    kube_cluster.wait_for(f"/apis/apps/v1/namespaces/{ns}/deployments/web",
                          lambda d: (h := sync.assess(d)) is not None and h.status == HealthStatus.HEALTHY)
    row = apps()
    assert (row["sync"], row["health"]) == ("Synced", "Healthy"), row
    assert deployment()["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/web:1.1.0"

    # 3. a removed manifest is pruned; an object the Application does not own survives
    kube_cluster.request("POST", f"/api/v1/namespaces/{ns}/configmaps",
                         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}})
    write_files(repo, {"apps/shop/base/kustomization.yaml": "resources: [deployment.yaml, service.yaml]\n"})
    commit("drop settings")
    code, out = imagebot("sync")
    assert code == 0 and f"pruned     ConfigMap {ns}/settings" in out, out
    # foreground deletion: the garbage collector removes the object a moment later (under load the
    # GET right after the sync still saw it, with its deletionTimestamp)
    kube_cluster.wait_for(f"/api/v1/namespaces/{ns}/configmaps",
                          lambda cms: "settings" not in {c["metadata"]["name"] for c in cms["items"]})
    assert kube_cluster.get(f"/api/v1/namespaces/{ns}/configmaps/theirs")["metadata"]["name"] == "theirs"

    # 4. a manual edit shows in --diff
    kube_cluster.request("PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/web",
                         {"spec": {"template": {"spec": {"containers": [
                             {"name": "web", "image": "ghcr.io/example/web:hotfix"}]}}}}, content_type=MERGE)
    code, out = imagebot("sync", "--dry-run", "--diff")
    assert "-      - image: ghcr.io/example/web:hotfix\n" in out and "+      - image: ghcr.io/example/web:1.1.0\n" in out
    assert apps()["sync"] == "OutOfSync"

    # 5. an empty render prunes nothing
    write_files(repo, {"apps/shop/base/kustomization.yaml": "resources: []\n"})
    commit("empty")
    code, out = imagebot("sync", "--force")
    assert "the render is empty: nothing pruned" in out, out
    assert deployment()["metadata"]["name"] == "web"
    assert kube_cluster.get(f"/api/v1/namespaces/{ns}/services/web")["metadata"]["name"] == "web"
