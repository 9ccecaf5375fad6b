"""Resource hooks on the stdlib API emulator (Jobs and run-once Pods complete at once there).

Aspects under test:
* which objects are hooks (Argo CD and Helm annotations, Skip), their delete policies and names;
* PreSync hooks run (and complete) before the Sync phase is applied; PostSync after every
  object is healthy; a Sync hook runs with its wave; hooks of one phase run in wave order;
* a failed PreSync hook stops the sync, nothing is applied or pruned, and SyncFail hooks run;
* delete policies: BeforeHookCreation (the default) replaces an earlier hook, HookSucceeded and
  HookFailed delete completed hooks by the result of the whole sync (gitops-engine), an earlier
  hook without BeforeHookCreation is applied over;
* ``generateName`` hooks get a name per sync; hooks are neither in the inventory nor pruned nor
  counted by ``status``; ``Skip`` objects are never applied; a dry run runs no hook.
"""

from __future__ import annotations

from typing import Any

import pytest

from imagebot.sync import _hooks
from testing.kubeapi import KubeEmulator
from tests.sync.conftest import Syncer, actions, exists
from tests.sync.units import configmap, deployment, job

JOBS = "/apis/batch/v1/namespaces/shop/jobs"
DEPLOY = "/apis/apps/v1/namespaces/shop/deployments"
CREATE_NS = ("CreateNamespace=true",)


def _patched(emulator: KubeEmulator) -> list[str]:
    return [path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1]
            for method, path in emulator.requests if method == "PATCH" and "/namespaces/argocd" not in path]


# ---- classification (pure)


@pytest.mark.parametrize(("annotations", "phases"), [
    pytest.param({}, (), id="ordinary"),
    pytest.param({"argocd.argoproj.io/hook": "PreSync"}, ("PreSync",), id="presync"),
    pytest.param({"argocd.argoproj.io/hook": "PostSync, PreSync"}, ("PreSync", "PostSync"), id="two-in-order"),
    pytest.param({"argocd.argoproj.io/hook": "Skip"}, (), id="skip"),
    pytest.param({"argocd.argoproj.io/hook": "Bogus"}, (), id="unknown-type"),
    pytest.param({"helm.sh/hook": "pre-install,pre-upgrade"}, ("PreSync",), id="helm-pre"),
    pytest.param({"helm.sh/hook": "post-upgrade"}, ("PostSync",), id="helm-post"),
    pytest.param({"helm.sh/hook": "test"}, (), id="helm-test-is-not-a-hook"),
    pytest.param({"argocd.argoproj.io/hook": "SyncFail", "helm.sh/hook": "pre-install"}, ("SyncFail",),
                 id="argo-wins-over-helm"),
])
def test_hook_phases(annotations: dict[str, str], phases: tuple[str, ...]) -> None:
    assert _hooks.phases({"metadata": {"annotations": annotations}}) == phases


def test_skip_and_delete_policies_and_names() -> None:
    assert _hooks.is_skipped({"metadata": {"annotations": {"argocd.argoproj.io/hook": "Skip"}}})
    assert not _hooks.is_skipped({"metadata": {"annotations": {"argocd.argoproj.io/hook": "Skip,PreSync"}}})
    assert _hooks.delete_policies({"metadata": {}}) == {"BeforeHookCreation"}
    assert _hooks.delete_policies({"metadata": {"annotations": {
        "argocd.argoproj.io/hook-delete-policy": "HookSucceeded, HookFailed"}}}) == {"HookSucceeded", "HookFailed"}
    assert _hooks.delete_policies({"metadata": {"annotations": {
        "helm.sh/hook-delete-policy": "hook-succeeded"}}}) == {"HookSucceeded"}
    assert _hooks.wave({"metadata": {"annotations": {"helm.sh/hook-weight": "-2"}}}) == -2
    assert _hooks.wave({"metadata": {"annotations": {"helm.sh/hook-weight": "-2",
                                                     "argocd.argoproj.io/sync-wave": "3"}}}) is None
    assert _hooks.hook_name("Migrate-", revision="4F2A9C1D03BE", phase="PreSync",
                            started=1700000000.7) == "migrate-4f2a9c1-presync-1700000000"


# ---- running them


def test_presync_hook_runs_before_the_sync_phase(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/all.yaml": "\n---\n".join([
        deployment("web", "ghcr.io/org/web:1.0"), configmap("settings"), job("migrate", "PreSync"),
    ])})
    emulator.requests.clear()
    result = syncer.sync(options=CREATE_NS)
    assert not result.failed, result
    assert actions(result) == [("created", "Namespace shop"), ("hook", "Job shop/migrate"),
                               ("created", "ConfigMap shop/settings"), ("created", "Deployment shop/web")]
    assert result.outcomes[1].message == "PreSync hook: Succeeded"
    assert _patched(emulator) == ["namespaces/shop", "jobs/migrate", "configmaps/settings", "deployments/web"]
    # the hook was read back (complete) before anything of the Sync phase was applied
    requests = [f"{m} {p.rsplit('/', 1)[-1]}" for m, p in emulator.requests]
    assert requests.index("GET migrate", requests.index("PATCH migrate")) < requests.index("PATCH settings")
    # hooks are not part of the inventory (never pruned) nor of the sync status
    inventory = emulator.get("/api/v1/namespaces/argocd/configmaps/imagebot-inventory-web")
    assert "migrate" not in str(inventory["data"])
    emulator.request("DELETE", f"{JOBS}/migrate")
    status = syncer.status(options=CREATE_NS)
    assert (status.sync, status.health) == ("Synced", "Healthy"), status


def test_postsync_waits_for_healthy_objects(tmp_path: Any) -> None:
    with KubeEmulator(tmp_path, instant_ready=False) as emulator:
        (tmp_path / "repo/app").mkdir(parents=True)
        syncer = Syncer(tmp_path / "repo", emulator.kubeconfig)
        syncer.write({"app/all.yaml": "\n---\n".join([
            deployment("web", "ghcr.io/org/web:1.0"), job("smoke", "PostSync"), job("seed", "Sync", wave=1),
        ])})
        emulator.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": "shop"}})
        seen: list[tuple[str, bool, bool]] = []

        def controllers() -> None:  # plays the deployment and job controllers, one step per poll
            ready = False
            if exists(emulator, f"{DEPLOY}/web"):
                live = emulator.get(f"{DEPLOY}/web")
                ready = bool(live.get("status"))
                if not ready and len(syncer.sleeps) >= 3:
                    emulator.request("PATCH", f"{DEPLOY}/web/status", {"status": {
                        "observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
                        "availableReplicas": 1}}, content_type="application/merge-patch+json")
            for name in ("seed", "smoke"):
                if exists(emulator, f"{JOBS}/{name}") and not emulator.get(f"{JOBS}/{name}").get("status"):
                    emulator.request("PATCH", f"{JOBS}/{name}/status", {"status": {"conditions": [
                        {"type": "Complete", "status": "True"}]}}, content_type="application/merge-patch+json")
            seen.append(("poll", ready, exists(emulator, f"{JOBS}/smoke")))

        syncer.on_sleep = controllers
        result = syncer.sync()
    assert not result.failed, result
    assert actions(result) == [("created", "Deployment shop/web"), ("hook", "Job shop/seed"),
                               ("hook", "Job shop/smoke")]
    assert [o.message for o in result.outcomes[1:]] == ["Sync hook: Succeeded", "PostSync hook: Succeeded"]
    # the wave-1 Sync hook waited for the Deployment; the PostSync hook did not exist before it was healthy
    assert seen[0] == ("poll", False, False)
    assert all(not smoke for _, ready, smoke in seen if not ready)
    assert seen[-1][2]


def test_failed_presync_stops_the_sync_and_runs_syncfail(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/all.yaml": "\n---\n".join([
        configmap("settings"), deployment("web", "ghcr.io/org/web:1.0"),
        job("migrate", "PreSync", mode="fail"), job("page", "SyncFail"), job("smoke", "PostSync"),
    ])})
    result = syncer.sync(options=CREATE_NS)
    assert result.failed
    assert actions(result) == [
        ("created", "Namespace shop"), ("failed", "Job shop/migrate"), ("skipped", "ConfigMap shop/settings"),
        ("skipped", "Deployment shop/web"), ("skipped", "Job shop/smoke"), ("hook", "Job shop/page"),
    ]
    reason = "BackoffLimitExceeded: Job has reached the specified backoff limit"
    assert result.outcomes[1].message == f"PreSync hook failed: {reason}"
    assert result.outcomes[-1].message == "SyncFail hook: Succeeded"
    assert result.error == f"PreSync wave 0 hook Job shop/migrate failed: {reason}"
    assert not exists(emulator, f"{DEPLOY}/web")
    assert not exists(emulator, f"{JOBS}/smoke")
    inventory = emulator.get("/api/v1/namespaces/argocd/configmaps/imagebot-inventory-web")
    assert inventory["data"]["phase"] == "Failed"


def test_syncfail_runs_after_a_failed_apply_too(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/all.yaml": "\n---\n".join([
        deployment("web", "ghcr.io/org/web:1.0"), job("page", "SyncFail", mode="fail"),
    ])})
    emulator.fail("PATCH", "deployments/web", 422)
    result = syncer.sync(options=CREATE_NS)
    assert actions(result)[-2:] == [("failed", "Deployment shop/web"), ("failed", "Job shop/page")]
    assert result.outcomes[-1].message.startswith("SyncFail hook failed")
    assert "SyncFail hook Job shop/page failed" in result.message


def test_no_syncfail_when_the_sync_succeeds(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/all.yaml": "\n---\n".join([configmap("settings"), job("page", "SyncFail")])})
    result = syncer.sync(options=CREATE_NS)
    assert actions(result) == [("created", "Namespace shop"), ("created", "ConfigMap shop/settings")]
    assert not exists(emulator, f"{JOBS}/page")


def test_delete_policies(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/all.yaml": "\n---\n".join([
        configmap("settings"),
        job("before", "PreSync"),  # BeforeHookCreation, the default
        job("gone-ok", "PreSync", policy="HookSucceeded"),
        job("kept-ok", "PreSync", policy="HookFailed"),
    ])})
    first = syncer.sync(options=CREATE_NS)
    assert not first.failed, first
    messages = {str(o.ref): o.message for o in first.outcomes}
    assert messages["Job shop/gone-ok"] == "PreSync hook: Succeeded; deleted (HookSucceeded)"
    assert messages["Job shop/kept-ok"] == "PreSync hook: Succeeded"
    assert not exists(emulator, f"{JOBS}/gone-ok")
    uids = {name: emulator.get(f"{JOBS}/{name}")["metadata"]["uid"] for name in ("before", "kept-ok")}

    second = syncer.sync(options=CREATE_NS)
    messages = {str(o.ref): o.message for o in second.outcomes}
    assert messages["Job shop/before"] == "PreSync hook: Succeeded; replaced the earlier one (BeforeHookCreation)"
    assert emulator.get(f"{JOBS}/before")["metadata"]["uid"] != uids["before"]
    # without BeforeHookCreation the earlier (complete) Job is applied over, not run again
    assert messages["Job shop/kept-ok"] == "PreSync hook: Succeeded"
    assert emulator.get(f"{JOBS}/kept-ok")["metadata"]["uid"] == uids["kept-ok"]

    syncer.write({"app/all.yaml": "\n---\n".join([
        configmap("settings"), job("gone-failed", "PreSync", policy="HookFailed", mode="fail"),
        job("kept-failed", "PreSync", policy="HookSucceeded", mode="fail"),
    ])})
    third = syncer.sync(options=CREATE_NS)
    messages = {str(o.ref): o.message for o in third.outcomes}
    assert messages["Job shop/gone-failed"].endswith("; deleted (HookFailed)")
    assert not exists(emulator, f"{JOBS}/gone-failed")
    assert exists(emulator, f"{JOBS}/kept-failed")
    # hooks are not pruned with the ordinary objects
    assert exists(emulator, f"{JOBS}/before")


def test_delete_policies_follow_the_result_of_the_whole_sync(syncer: Syncer, emulator: KubeEmulator) -> None:
    """gitops-engine deletes HookSucceeded hooks when the operation succeeded and HookFailed hooks
    when it failed, whatever each hook's own result: a PreSync hook that succeeded before a later
    step failed is a HookFailed hook to delete, and not a HookSucceeded one."""
    syncer.write({"app/all.yaml": "\n---\n".join([
        configmap("settings"),
        job("ok-kept", "PreSync", policy="HookSucceeded"),
        job("ok-gone", "PreSync", policy="HookFailed"),
        job("smoke", "PostSync", policy="HookSucceeded", mode="fail"),
    ])})
    result = syncer.sync(options=CREATE_NS)
    assert result.failed
    messages = {str(o.ref): o.message for o in result.outcomes}
    assert messages["Job shop/ok-kept"] == "PreSync hook: Succeeded"
    assert messages["Job shop/ok-gone"] == "PreSync hook: Succeeded; deleted (HookFailed: the sync failed)"
    assert messages["Job shop/smoke"].startswith("PostSync hook failed")
    assert exists(emulator, f"{JOBS}/ok-kept") and exists(emulator, f"{JOBS}/smoke")
    assert not exists(emulator, f"{JOBS}/ok-gone")


def test_generate_name_hooks_get_a_name_per_sync(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/all.yaml": "\n---\n".join([configmap("settings"),
                                                   job("migrate", "PreSync,PostSync", generate=True)])})
    clock = iter([1700000000.0, 1700000060.0])
    first = syncer.sync(options=CREATE_NS, run={"now": lambda: next(clock)})
    assert actions(first)[1:] == [("hook", "Job shop/migrate-rev1-presync-1700000000"),
                                  ("created", "ConfigMap shop/settings"),
                                  ("hook", "Job shop/migrate-rev1-postsync-1700000000")]
    second = syncer.sync(options=CREATE_NS, run={"now": lambda: next(clock)})
    assert ("hook", "Job shop/migrate-rev1-presync-1700000060") in actions(second)
    names = sorted(j["metadata"]["name"] for j in emulator.get(JOBS)["items"])
    assert len(names) == 4
    live = emulator.get(f"{JOBS}/migrate-rev1-presync-1700000060")
    assert live["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] == \
        "web:batch/Job:shop/migrate-rev1-presync-1700000060"


def test_generate_name_outside_hooks_is_refused(syncer: Syncer) -> None:
    syncer.write({"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: cm-}\n"})
    with pytest.raises(Exception, match="generateName is allowed for hooks only"):
        syncer.render()


def test_skip_is_never_applied_nor_pruned(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/all.yaml": configmap("settings")})
    syncer.sync(options=CREATE_NS, prune=True)
    syncer.write({"app/all.yaml": configmap("settings", annotations="{argocd.argoproj.io/hook: Skip}")
                  + "---\n" + configmap("other", annotations="{argocd.argoproj.io/hook: Skip}")})
    assert syncer.status(options=CREATE_NS, prune=True).sync == "Synced"  # not "requires pruning"
    result = syncer.sync(options=CREATE_NS, prune=True)
    assert actions(result) == []
    assert exists(emulator, "/api/v1/namespaces/shop/configmaps/settings")
    assert not exists(emulator, "/api/v1/namespaces/shop/configmaps/other")


def test_helm_hooks_and_weights(syncer: Syncer, emulator: KubeEmulator) -> None:
    def helm_job(name: str, weight: str) -> str:
        return job(name, "x").replace("{argocd.argoproj.io/hook: 'x'}",
                                      f"{{helm.sh/hook: pre-install, helm.sh/hook-weight: '{weight}'}}")

    syncer.write({"app/all.yaml": "\n---\n".join([configmap("settings"), helm_job("second", "5"),
                                                   helm_job("first", "-5")])})
    result = syncer.sync(options=CREATE_NS)
    assert actions(result)[1:] == [("hook", "Job shop/first"), ("hook", "Job shop/second"),
                                   ("created", "ConfigMap shop/settings")]


def test_dry_run_runs_no_hook(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/all.yaml": "\n---\n".join([configmap("settings"), job("migrate", "PreSync")])})
    emulator.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": "shop"}})
    result = syncer.sync(run={"dry_run": True})
    assert actions(result) == [("hook", "Job shop/migrate"), ("created", "ConfigMap shop/settings")]
    assert result.outcomes[0].message == "PreSync hook: not run (dry run)"
    assert not exists(emulator, f"{JOBS}/migrate")


def test_a_hook_that_never_completes_times_out(tmp_path: Any) -> None:
    with KubeEmulator(tmp_path) as emulator:
        (tmp_path / "repo/app").mkdir(parents=True)
        ticks = iter(range(1000))
        syncer = Syncer(tmp_path / "repo", emulator.kubeconfig)
        syncer.write({"app/all.yaml": "\n---\n".join([configmap("settings"),
                                                       job("migrate", "PreSync", mode="hold")])})
        result = syncer.sync(options=CREATE_NS, run={"clock": lambda: float(next(ticks)), "wave_timeout": 5})
    assert actions(result)[1:] == [("failed", "Job shop/migrate"), ("skipped", "ConfigMap shop/settings")]
    assert result.outcomes[1].message == "PreSync hook did not complete after 5 s: Job running: 0 active, 0 succeeded, 0 failed"
    assert result.error == ("PreSync wave 0 was not healthy after 5 s: Job shop/migrate: "
                            "Job running: 0 active, 0 succeeded, 0 failed")
