"""``imagebot serve`` as the ApplicationSet controller, on the real kube-apiserver with its
scheduler running and a real Git repository read by a git ``directories`` generator:

* a directory added in Git (and pushed by imagebot) becomes an Application that is synced,
  without a restart or a configuration change; ``imagebot apps`` shows it with its ApplicationSet,
  with a cluster and from the state store;
* a directory removed: under ``applicationsSync`` ``sync`` (the default) the Application and its
  objects are deleted, and it leaves the loop, the status table and /metrics; under
  ``create-update`` it is kept (and its objects);
* a generator that fails (two directories generating one name) keeps the recorded Applications
  running, and says where (file:line).

Regenerations are triggered through the loop's own entries (imagebot's push, the ApplicationSet
job), never by waiting for the interval; outcomes are polled through the API server.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imagebot import cli, sync
from imagebot.model.cluster import AppState
from imagebot.model.ids import ObjectKey
from imagebot.schedule import Listener, Metrics, ServeSettings, Service
from imagebot.state import StateStore
from testing import fluxyaml
from testing.gitrepos import git, git_env, write_files
from testing.kube import KubeCluster, KubeError
from tests.schedule.test_sync_loop import _report

pytestmark = pytest.mark.integration


def _configmap(value: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{value: '{value}'}}\n"


def _appset(name: str, repo: Path, policy: str) -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: {name}, namespace: argocd}}
spec:
  {policy}
  generators:
  - git:
      repoURL: '{repo}'
      revision: main
      directories:
      - path: 'apps/*'
  template:
    metadata: {{name: '{name}-{{{{path.basenameNormalized}}}}'}}
    spec:
      project: default
      source: {{repoURL: '{repo}', targetRevision: main, path: '{{{{path}}}}'}}
      destination: {{server: https://kubernetes.default.svc, namespace: '{name}-{{{{path.basenameNormalized}}}}'}}
      syncPolicy:
        automated: {{prune: true}}
        syncOptions: [CreateNamespace=true]
---
"""


class Events(Listener):
    """A listener keeping what the service told about ApplicationSets and removed Applications."""

    def __init__(self) -> None:
        self.failed: list[tuple[ObjectKey, str]] = []
        self.removed: list[str] = []

    def appset_failed(self, app_set: ObjectKey, message: str) -> None:
        self.failed.append((app_set, message))

    def app_removed(self, unit: str, result: Any) -> None:
        self.removed.append(unit)


def test_serve_regenerates_application_sets_and_applies_their_policy_on_a_real_apiserver(
    tmp_path: Path, kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    gone, kept = f"gone-{suffix}", f"kept-{suffix}"  # applicationsSync sync (default), create-update
    env = git_env(tmp_path / "home")
    repo = tmp_path / "fleet"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo, env=env)

    def commit(files: dict[str, str], *, remove: str | None = None) -> None:
        if remove is not None:
            git("rm", "-q", "-r", remove, cwd=repo, env=env)
        write_files(repo, files)
        git("add", "-A", cwd=repo, env=env)
        git("commit", "-q", "-m", "change", cwd=repo, env=env)

    commit({"apps/a/settings.yaml": _configmap("a")})
    policies = tmp_path / "policies"
    write_files(policies, {
        "sets.yaml": _appset(gone, repo, "") + _appset(kept, repo, "syncPolicy: {applicationsSync: create-update}"),
        "automation.yaml": fluxyaml.fleet(str(repo))})
    state_path = tmp_path / "state.db"
    metrics, events = Metrics(), Events()
    service = Service(ServeSettings(config_path=policies, state_path=state_path, watch=0, grace=30,
                                    workdir=tmp_path / "work", kubeconfig=kube_cluster.kubeconfig,
                                    appset_interval=datetime.timedelta(hours=1),
                                    sync_options=sync.SyncOptions(poll=0.5)),
                      listeners=[metrics, events])
    namespaces = [f"{s}-{d}" for s in (gone, kept) for d in ("a", "b")]

    def configmap(namespace: str) -> str:
        return f"/api/v1/namespaces/{namespace}/configmaps/settings"

    def exists(path: str) -> bool:
        try:
            kube_cluster.get(path)
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def eventually(check: Callable[[], bool], what: str) -> None:
        try:
            kube_cluster.wait_for("/api/v1/namespaces/default", lambda _: check(), timeout=120)
        except AssertionError:
            raise AssertionError(what) from None

    def record(app_set: str) -> set[str]:
        found = kube_cluster.get(f"/api/v1/namespaces/argocd/configmaps/imagebot-appset-{app_set}")
        return set(json.loads(found["data"]["applications"]))

    def stored() -> dict[str, AppState]:
        with StateStore(state_path) as store:
            return store.apps()

    def apps(*argv: str, status: int = 0) -> dict[str, dict[str, Any]]:
        code = cli.main(["apps", "--json", "--config", str(policies), "--state", str(state_path),
                         "--workdir", str(tmp_path / "apps-work"), *argv])
        out = capsys.readouterr().out
        assert code == status, out
        return {row["app"]: row for row in json.loads(out)}

    service.start()  # the ApplicationSets generate at once; their Applications are due at once
    try:
        assert service.interval_of(f"appset:argocd/{gone}") == datetime.timedelta(hours=1)
        for name in (gone, kept):
            kube_cluster.wait_for(configmap(f"{name}-a"), lambda c: c["data"]["value"] == "a")

        # a directory added and pushed by imagebot: both ApplicationSets regenerate, the new
        # Applications are created and synced at once, no restart, no configuration change
        commit({"apps/b/settings.yaml": _configmap("b")})
        automation = service.cfg.automations[ObjectKey("flux-system", "fleet")]
        service._pushed(automation, _report(["apps/b/settings.yaml"]))
        for name in (gone, kept):
            kube_cluster.wait_for(configmap(f"{name}-b"), lambda c: c["data"]["value"] == "b")
            assert f"app:argocd/{name}-b" in service.scheduled()
        eventually(lambda: {f"argocd/{gone}-b", f"argocd/{kept}-b"} <= set(stored()), "b recorded")
        assert record(gone) == {f"{gone}-a", f"{gone}-b"}

        # imagebot apps: the regenerated Applications with their ApplicationSet
        with_cluster = apps("--kubeconfig", str(kube_cluster.kubeconfig))
        assert with_cluster[f"argocd/{gone}-b"]["applicationSet"] == f"argocd/{gone}"
        assert with_cluster[f"argocd/{gone}-b"]["sync"] == "Synced"
        from_state = apps()
        assert from_state[f"argocd/{kept}-b"]["applicationSet"] == f"argocd/{kept}"
        assert from_state[f"argocd/{kept}-b"]["lastSync"]["result"] == "Succeeded"

        # the directory removed: deleted with its objects under `sync`, kept under create-update
        commit({}, remove="apps/b")
        for name in (gone, kept):
            assert service.regenerate(f"appset:argocd/{name}", forced=True) == "ok"
        eventually(lambda: not exists(configmap(f"{gone}-b")), f"{gone}-b's ConfigMap deleted")
        assert exists(configmap(f"{kept}-b")) and exists(configmap(f"{gone}-a"))
        assert f"app:argocd/{gone}-b" not in service.scheduled()
        assert f"app:argocd/{kept}-b" in service.scheduled()
        assert (record(gone), record(kept)) == ({f"{gone}-a"}, {f"{kept}-a", f"{kept}-b"})
        assert events.removed == [f"argocd/{gone}-b"]
        assert f"argocd/{gone}-b" not in stored() and f"argocd/{kept}-b" in stored()
        text = metrics.render().decode()
        assert f'app="argocd/{gone}-b"' not in text and f'app="argocd/{kept}-b"' in text
        # the kept Application's path is gone from Git: listed (with its ApplicationSet) as not
        # comparable, exit 1, as Argo CD's ComparisonError; its objects stay
        rows = apps("--kubeconfig", str(kube_cluster.kubeconfig), status=1)
        assert f"argocd/{gone}-b" not in rows and rows[f"argocd/{kept}-b"]["sync"] == "Unknown"
        assert rows[f"argocd/{kept}-b"]["applicationSet"] == f"argocd/{kept}"
        assert "'apps/b' is not a directory" in rows[f"argocd/{kept}-b"]["why"][0]

        # a generator that fails: two directories make one name; nothing changes, serve goes on
        commit({"apps/x_y/settings.yaml": _configmap("x"), "apps/x-y/settings.yaml": _configmap("x")})
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="imagebot"):
            assert service.regenerate(f"appset:argocd/{gone}", forced=True) == "failed"
        line = 1 + next(i for i, text in enumerate((policies / "sets.yaml").read_text().splitlines())
                        if text.startswith("    metadata: {name:"))
        where = f"{policies / 'sets.yaml'}:{line}: ApplicationSet argocd/{gone}: spec.template.metadata.name"
        assert [k for k, _ in events.failed] == [ObjectKey("argocd", gone)]
        assert events.failed[0][1].startswith(where), events.failed
        assert "duplicate names" in events.failed[0][1]
        assert any(where in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
        assert record(gone) == {f"{gone}-a"}
        assert f"app:argocd/{gone}-a" in service.scheduled() and exists(configmap(f"{gone}-a"))
        assert service.alive
    finally:
        assert service.stop(30)
        for namespace in namespaces:
            with contextlib.suppress(KubeError):
                kube_cluster.request("DELETE", f"/api/v1/namespaces/{namespace}")
        litter = [f"imagebot-appset-{name}" for name in (gone, kept)]
        litter += [f"imagebot-inventory-{namespace}" for namespace in namespaces]
        for name in litter:
            with contextlib.suppress(KubeError):
                kube_cluster.request("DELETE", f"/api/v1/namespaces/argocd/configmaps/{name}")
