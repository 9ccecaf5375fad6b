"""``imagebot serve``'s sync loop against the real kube-apiserver (with kube-controller-manager and
the test kubelet), its scheduler running for real: a commit the automation pushed is synced at
once and rolled out Healthy; a manual edit is healed with ``selfHeal`` and reported OutOfSync
without it."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from imagebot import sync
from imagebot.model.cluster import AppState
from imagebot.model.health import HealthStatus
from imagebot.model.ids import ObjectKey
from imagebot.schedule import ServeSettings, Service
from imagebot.state import StateStore
from testing import fluxyaml
from testing.gitrepos import git, git_env, write_files
from testing.kube import KubeCluster, KubeError
from tests.schedule.test_sync_loop import _report

pytestmark = pytest.mark.integration

MERGE = "application/merge-patch+json"


def _deployment(tag: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:{tag}
"""


def _application(name: str, namespace: str, repo: Path, *, self_heal: bool) -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  source: {{repoURL: '{repo}', targetRevision: main, path: apps/{name}}}
  destination: {{server: https://kubernetes.default.svc, namespace: {namespace}}}
  syncPolicy:
    automated: {{prune: true, selfHeal: {str(self_heal).lower()}}}
    syncOptions: [CreateNamespace=true]
---
"""


@pytest.fixture
def namespaces(kube_cluster: KubeCluster) -> Iterator[tuple[str, str]]:
    names = (f"heal-{uuid.uuid4().hex[:8]}", f"keep-{uuid.uuid4().hex[:8]}")
    yield names
    for name in names:
        with contextlib.suppress(KubeError):
            kube_cluster.request("DELETE", f"/api/v1/namespaces/{name}")


def test_the_loop_applies_a_pushed_commit_and_heals_drift_on_a_real_apiserver(
    tmp_path: Path, kube_cluster: KubeCluster, namespaces: tuple[str, str],
) -> None:
    healing, keeping = namespaces
    env = git_env(tmp_path / "home")
    repo = tmp_path / "fleet"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo, env=env)

    def commit(files: dict[str, str]) -> str:
        write_files(repo, files)
        git("add", "-A", cwd=repo, env=env)
        git("commit", "-q", "-m", "change", cwd=repo, env=env)
        return git("rev-parse", "HEAD", cwd=repo, env=env).strip()

    commit({"apps/heal/web.yaml": _deployment("1.0.0"), "apps/keep/web.yaml": _deployment("1.0.0")})
    policies = tmp_path / "policies"
    write_files(policies, {
        "apps.yaml": _application("heal", healing, repo, self_heal=True)
        + _application("keep", keeping, repo, self_heal=False),
        "automation.yaml": fluxyaml.fleet(str(repo))})
    state_path = tmp_path / "state.db"
    service = Service(ServeSettings(config_path=policies, state_path=state_path, watch=0, grace=30,
                                    workdir=tmp_path / "work", kubeconfig=kube_cluster.kubeconfig,
                                    sync_options=sync.SyncOptions(poll=0.5)))

    def image(namespace: str) -> str:
        found = kube_cluster.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
        return str(found["spec"]["template"]["spec"]["containers"][0]["image"])

    def stored(unit: str) -> AppState | None:
        with StateStore(state_path) as store:
            return store.app(unit)

    def eventually(check: Callable[[], bool], what: str) -> None:
        # the loop runs on the scheduler's threads: poll the outcome through the API server
        try:
            kube_cluster.wait_for("/api/v1/namespaces/default", lambda _: check(), timeout=120)
        except AssertionError:
            raise AssertionError(f"{what}: {stored('argocd/heal')} {stored('argocd/keep')}") from None

    def healthy(namespace: str, tag: str) -> Callable[[dict[str, Any]], bool]:
        def check(found: dict[str, Any]) -> bool:
            assessed = sync.assess(found)
            image = found["spec"]["template"]["spec"]["containers"][0]["image"]
            return image.endswith(f":{tag}") and assessed is not None and assessed.status == HealthStatus.HEALTHY
        return check

    service.start()  # every job due at once: both Applications are synced
    try:
        for namespace in namespaces:
            kube_cluster.wait_for(f"/apis/apps/v1/namespaces/{namespace}/deployments/web", healthy(namespace, "1.0.0"))

        # an image-update commit pushed by the automation: handed over in process, synced at once
        head = commit({"apps/heal/web.yaml": _deployment("1.1.0")})
        automation = service.cfg.automations[ObjectKey("flux-system", "fleet")]
        service._pushed(automation, _report(["apps/heal/web.yaml"]))
        kube_cluster.wait_for(f"/apis/apps/v1/namespaces/{healing}/deployments/web", healthy(healing, "1.1.0"))
        eventually(lambda: (s := stored("argocd/heal")) is not None and s.ready_at(head), "heal Healthy at head")
        # the other Application's path did not change: its next check finds it Synced at head
        service.trigger_units(["app:argocd/keep"], reason="interval")
        eventually(lambda: (s := stored("argocd/keep")) is not None and s.ready_at(head), "keep compared at head")

        # a manual edit: healed with selfHeal on, reported OutOfSync with it off
        for namespace in namespaces:
            kube_cluster.request("PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
                                 {"spec": {"template": {"spec": {"containers": [
                                     {"name": "web", "image": "ghcr.io/example/web:hotfix"}]}}}},
                                 content_type=MERGE)
        service.trigger_units(["app:argocd/heal", "app:argocd/keep"], reason="webhook")
        kube_cluster.wait_for(f"/apis/apps/v1/namespaces/{healing}/deployments/web", healthy(healing, "1.1.0"))

        def keep_out_of_sync() -> bool:
            # ask again while waiting: a trigger that met a queued check coalesced into it
            service.trigger_units(["app:argocd/keep"], reason="webhook")
            return (s := stored("argocd/keep")) is not None and s.sync == "OutOfSync"

        eventually(keep_out_of_sync, "keep OutOfSync")
    finally:
        assert service.stop(30)
    assert image(keeping) == "ghcr.io/example/web:hotfix"
    keep = stored("argocd/keep")
    assert keep is not None and any(f"Deployment {keeping}/web: differs from Git" in w for w in keep.why)
    with StateStore(state_path) as store:
        triggers = [r.trigger for r in store.history("argocd/heal")]
        assert triggers == ["new revision", "new revision", "self-heal"], triggers
        assert [r.trigger for r in store.history("argocd/keep")] == ["new revision"]
