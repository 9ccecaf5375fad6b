"""Resource hooks on the real kube-apiserver 1.20, with kube-controller-manager's job controller
and the test kubelet running the hooks' Pods to completion (``testing/kubelet.py``).

Aspects under test:
* a PreSync Job runs to completion before the Deployment is applied, a PostSync Job only after
  the Deployment is Healthy (the order the test kubelet ran the Pods in, from its event log);
* a failing PreSync Job stops the sync (nothing applied) and the SyncFail Job runs;
* delete policies follow the result of the whole sync (gitops-engine): HookSucceeded Jobs are
  deleted when it succeeded, HookFailed ones when it failed, whatever each Job's own result;
  BeforeHookCreation (the default) replaces the earlier one, a hook without it is kept and not
  run again;
* PostSync hooks wait until what prune deleted is gone (a finalizer holds a pruned ConfigMap).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagebot import sync
from imagebot.model.cluster import SyncResult
from testing.kube import KubeCluster, KubeError
from tests.sync.units import configmap, deployment, job, unit, write_tree

pytestmark = pytest.mark.integration


def _sync(kube_cluster: KubeCluster, root: Path, namespace: str) -> SyncResult:
    cluster = sync.connect(kube_cluster.kubeconfig)
    try:
        render = sync.render(unit("app", namespace=namespace, name=f"hooks-{namespace}"), root)
        return sync.sync_unit(render, "0123456789ab", cluster, sync.SyncOptions(poll=0.2, wave_timeout=120))
    finally:
        cluster.close()


def _events(kube_cluster: KubeCluster, namespace: str) -> list[tuple[str, str]]:
    """(pod, phase) in the order the test kubelet wrote them, for one namespace."""
    lines = (kube_cluster.dir / "events.jsonl").read_text().splitlines()
    return [(e["pod"], e["phase"]) for e in map(json.loads, lines) if e["namespace"] == namespace]


def _first(events: list[tuple[str, str]], prefix: str, phase: str | None = None) -> int:
    return next(i for i, (pod, seen) in enumerate(events) if pod.startswith(prefix) and phase in (None, seen))


def _job(kube_cluster: KubeCluster, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return kube_cluster.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}")
    except KubeError as exc:
        if exc.status != 404:
            raise
        return None


def _running_for(seconds: int, text: str) -> str:
    annotation = f"kubelet.testing.imagebot.dev/run-seconds: '{seconds}'"
    return text.replace("  template:\n", f"  template:\n    metadata: {{annotations: {{{annotation}}}}}\n")


def test_presync_before_and_postsync_after_a_healthy_deployment(
        tmp_path: Path, kube_cluster: KubeCluster, kube_namespace: str) -> None:
    ns = kube_namespace
    write_tree(tmp_path, {"app/all.yaml": "\n---\n".join([
        deployment("web", "registry.example/web:1"),
        _running_for(2, job("migrate", "PreSync")),
        job("smoke", "PostSync"),
        job("page", "SyncFail"),
    ])})
    result = _sync(kube_cluster, tmp_path, ns)
    assert not result.failed, result
    assert [(o.action, str(o.ref), o.message) for o in result.outcomes] == [
        ("hook", f"Job {ns}/migrate", "PreSync hook: Succeeded"),
        ("created", f"Deployment {ns}/web", ""),
        ("hook", f"Job {ns}/smoke", "PostSync hook: Succeeded"),
    ]
    migrate = _job(kube_cluster, ns, "migrate")
    assert migrate is not None and migrate["status"]["succeeded"] == 1  # the job controller's verdict
    assert _job(kube_cluster, ns, "page") is None  # SyncFail runs only when the sync fails
    events = _events(kube_cluster, ns)
    # the migration Pod ran (Running for 2 s) and finished before any Pod of the Deployment existed
    assert _first(events, "migrate-", "Running") < _first(events, "migrate-", "Succeeded") < _first(events, "web-")
    # the smoke test started only once the Deployment's Pod was Running and Ready
    assert _first(events, "web-", "Running") < _first(events, "smoke-")


def test_failing_presync_stops_the_sync_and_runs_syncfail(
        tmp_path: Path, kube_cluster: KubeCluster, kube_namespace: str) -> None:
    ns = kube_namespace
    write_tree(tmp_path, {"app/all.yaml": "\n---\n".join([
        deployment("web", "registry.example/web:1"),
        job("migrate", "PreSync", mode="fail"),
        job("page", "SyncFail"),
        job("smoke", "PostSync"),
    ])})
    result = _sync(kube_cluster, tmp_path, ns)
    assert result.failed
    assert [(o.action, str(o.ref)) for o in result.outcomes] == [
        ("failed", f"Job {ns}/migrate"), ("skipped", f"Deployment {ns}/web"), ("skipped", f"Job {ns}/smoke"),
        ("hook", f"Job {ns}/page"),
    ]
    assert result.error is not None and result.error.startswith(f"PreSync wave 0 hook Job {ns}/migrate failed: ")
    assert "BackoffLimitExceeded" in result.error  # the job controller's reason
    with pytest.raises(KubeError):
        kube_cluster.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")
    page = _job(kube_cluster, ns, "page")
    assert page is not None and page["status"]["succeeded"] == 1


def test_delete_policies(tmp_path: Path, kube_cluster: KubeCluster, kube_namespace: str) -> None:
    ns = kube_namespace
    write_tree(tmp_path, {"app/all.yaml": "\n---\n".join([
        job("before", "PreSync"),
        job("ok-kept", "PreSync", policy="HookSucceeded"),
        job("ok-gone", "PreSync", policy="HookFailed"),
        job("gone-failed", "PostSync", policy="HookFailed", mode="fail"),
        job("kept-failed", "PostSync", policy="HookSucceeded", mode="fail"),
    ])})
    first = _sync(kube_cluster, tmp_path, ns)
    # the sync failed (a PostSync hook did): HookFailed hooks go, whatever their own result
    assert first.failed
    messages = {o.ref.name: o.message for o in first.outcomes}
    assert messages["ok-kept"] == "PreSync hook: Succeeded"
    assert messages["ok-gone"] == "PreSync hook: Succeeded; deleted (HookFailed: the sync failed)"
    assert messages["gone-failed"].endswith("; deleted (HookFailed)")
    assert not messages["kept-failed"].endswith(")")
    for name in ("ok-gone", "gone-failed"):  # foreground deletion: the garbage collector removes the pods first
        kube_cluster.wait_for(f"/apis/batch/v1/namespaces/{ns}/jobs",
                              lambda jobs, name=name: name not in {j["metadata"]["name"] for j in jobs["items"]})
    kept = {name: _job(kube_cluster, ns, name) for name in ("before", "ok-kept", "kept-failed")}
    assert all(kept.values()), kept
    uids = {name: job_["metadata"]["uid"] for name, job_ in kept.items() if job_ is not None}

    write_tree(tmp_path, {"app/all.yaml": "\n---\n".join([
        job("before", "PreSync"), job("ok-kept", "PreSync", policy="HookFailed"),
        job("gone-ok", "PreSync", policy="HookSucceeded"),
    ])})
    second = _sync(kube_cluster, tmp_path, ns)
    assert not second.failed, second
    messages = {o.ref.name: o.message for o in second.outcomes}
    assert messages["before"] == "PreSync hook: Succeeded; replaced the earlier one (BeforeHookCreation)"
    assert messages["gone-ok"] == "PreSync hook: Succeeded; deleted (HookSucceeded)"
    replaced = _job(kube_cluster, ns, "before")
    assert replaced is not None and replaced["metadata"]["uid"] != uids["before"]
    assert replaced["status"]["succeeded"] == 1  # it ran again
    # without BeforeHookCreation the earlier (complete) Job is applied over, not run again
    again = _job(kube_cluster, ns, "ok-kept")
    assert again is not None and again["metadata"]["uid"] == uids["ok-kept"]
    kube_cluster.wait_for(f"/apis/batch/v1/namespaces/{ns}/jobs",
                          lambda jobs: "gone-ok" not in {j["metadata"]["name"] for j in jobs["items"]})


def test_postsync_waits_until_the_pruned_objects_are_gone(
        tmp_path: Path, kube_cluster: KubeCluster, kube_namespace: str) -> None:
    """gitops-engine moves to the next phase only once what it pruned is gone (a foreground
    deletion waits for dependents and finalizers). A pruned ConfigMap held by a finalizer keeps
    the PostSync hook from running; past the wave timeout the sync fails and says what it waited
    for. It ran the hook at once."""
    ns = kube_namespace
    app = unit("app", namespace=ns, name=f"prune-{ns}", prune=True)
    held = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [testing.imagebot.dev/hold]}\n"
            "data: {a: '1'}\n")
    cluster = sync.connect(kube_cluster.kubeconfig)
    try:
        write_tree(tmp_path, {"app/all.yaml": held})
        first = sync.sync_unit(sync.render(app, tmp_path), "rev1", cluster, sync.SyncOptions(poll=0.2))
        assert not first.failed, first
        (tmp_path / "app/all.yaml").write_text(configmap("settings") + "---\n" + job("smoke", "PostSync"))
        options = sync.SyncOptions(poll=0.2, wave_timeout=2)
        second = sync.sync_unit(sync.render(app, tmp_path), "rev2", cluster, options)
    finally:
        cluster.close()
        kube_cluster.request("PATCH", f"/api/v1/namespaces/{ns}/configmaps/held", {"metadata": {"finalizers": None}},
                             content_type="application/merge-patch+json")

    assert second.failed
    assert ("pruned", f"ConfigMap {ns}/held") in [(o.action, str(o.ref)) for o in second.outcomes]
    assert ("skipped", f"Job {ns}/smoke") in [(o.action, str(o.ref)) for o in second.outcomes], second
    assert second.error is not None and f"ConfigMap {ns}/held" in second.error and "deletion" in second.error
    assert _job(kube_cluster, ns, "smoke") is None
