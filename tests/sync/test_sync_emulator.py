"""The sync engine against the stdlib API emulator: ordering, ownership, prune, diff, retries.

Aspects under test:
* CreateNamespace, apply order (wave, kind, name), created/configured/unchanged;
* waves wait for health (progress via status updates), a timeout or Degraded stops later waves;
* a CRD and its custom resource in one sync;
* prune: only what the unit applied before and still owns; empty render guard (allowEmpty);
  Prune=false, Delete=false, Prune=confirm with --confirm-prune; without automated.prune only
  --prune deletes; an object with another owner's tracking id is left alone;
* conflicts with another field manager fail the object; --force takes the fields over;
* --diff shows a manual edit, masks Secret values; dry run changes nothing;
* retry with backoff after a 500; status() reports Synced/OutOfSync and health.
"""

from __future__ import annotations

import datetime

import pytest

from imagebot.model import argo
from testing.kubeapi import KubeEmulator
from tests.sync.conftest import Syncer, actions, exists
from tests.sync.units import configmap, deployment

CM = "/api/v1/namespaces/shop/configmaps"
DEPLOY = "/apis/apps/v1/namespaces/shop/deployments"
CREATE_NS = ("CreateNamespace=true",)


def test_first_sync_creates_namespace_and_applies_in_order(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/all.yaml": "\n---\n".join([
        deployment("web", "ghcr.io/org/web:1.0"), configmap("settings"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80, protocol: TCP}]}\n",
    ])})
    emulator.requests.clear()
    result = syncer.sync(options=CREATE_NS)
    assert not result.failed
    assert actions(result) == [
        ("created", "Namespace shop"), ("created", "ConfigMap shop/settings"), ("created", "Service shop/web"),
        ("created", "Deployment shop/web"),
    ]
    # (the inventory's namespace and ConfigMap come last)
    patches = [path for method, path in emulator.requests if method == "PATCH"]
    assert patches[-2:] == ["/api/v1/namespaces/argocd", "/api/v1/namespaces/argocd/configmaps/imagebot-inventory-web"]
    patches = patches[:-2]
    assert patches == ["/api/v1/namespaces/shop", f"{CM}/settings", "/api/v1/namespaces/shop/services/web",
                       f"{DEPLOY}/web"]
    live = emulator.get(f"{DEPLOY}/web")
    assert live["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] == "web:apps/Deployment:shop/web"
    assert [f["manager"] for f in live["metadata"]["managedFields"]] == ["imagebot"]
    # the namespace CreateNamespace made is not tracked
    assert "argocd.argoproj.io/tracking-id" not in (emulator.get("/api/v1/namespaces/shop")["metadata"]
                                                    .get("annotations") or {})
    emulator.requests.clear()
    again = syncer.sync(options=CREATE_NS)
    assert {a for a, _ in actions(again)} == {"unchanged"}
    # a no-change resync reads the inventory and writes nothing back
    assert not [path for method, path in emulator.requests if "inventory" in path and method != "GET"]
    syncer.write({"app/all.yaml": deployment("web", "ghcr.io/org/web:2.0") + "---\n" + configmap("settings")
                  + "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
                    "spec: {ports: [{port: 80, protocol: TCP}]}\n"})
    update = syncer.sync(options=CREATE_NS)
    assert ("configured", "Deployment shop/web") in actions(update)
    image = emulator.get(f"{DEPLOY}/web")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "ghcr.io/org/web:2.0"


def test_waves_wait_until_the_previous_wave_is_healthy(tmp_path: object, syncer: Syncer) -> None:
    emulator = KubeEmulator(syncer.root.parent / "slow", instant_ready=False)
    (syncer.root.parent / "slow").mkdir()
    with emulator:
        syncer.kubeconfig = emulator.kubeconfig
        syncer.write({"app/a.yaml": deployment("db", "db:1"), "app/b.yaml": configmap(
            "after", annotations="{argocd.argoproj.io/sync-wave: '1'}")})
        ready = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
                 "availableReplicas": 1}

        def controller() -> None:  # the second poll finds the Deployment rolled out
            if len(syncer.sleeps) == 2:
                emulator.request("PUT", f"{DEPLOY}/db/status", {"status": ready})
            assert not exists(emulator, f"{CM}/after")  # wave 1 waits

        syncer.on_sleep = controller
        result = syncer.sync(options=CREATE_NS)
        assert not result.failed, result
        assert len(syncer.sleeps) >= 2
        assert exists(emulator, f"{CM}/after")


def test_a_wave_that_never_becomes_healthy_stops_the_later_waves(syncer: Syncer) -> None:
    slow = syncer.root.parent / "slow"
    slow.mkdir()
    with KubeEmulator(slow, instant_ready=False) as emulator:
        syncer.kubeconfig = emulator.kubeconfig
        syncer.write({"app/a.yaml": deployment("db", "db:1"), "app/b.yaml": configmap(
            "after", annotations="{argocd.argoproj.io/sync-wave: '1'}")})
        clock = iter(range(0, 10_000, 100))
        result = syncer.sync(options=CREATE_NS, run={"wave_timeout": 250, "clock": lambda: float(next(clock))})
        assert result.failed
        assert ("skipped", "ConfigMap shop/after") in actions(result)
        assert "wave 0 was not healthy after 250 s: Deployment shop/db: Progressing" in (result.error or "")
        assert not exists(emulator, f"{CM}/after")
        # a Degraded wave stops at once
        emulator.request("PUT", f"{DEPLOY}/db/status", {"status": {"observedGeneration": 1, "conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": "too slow"}]}})
        degraded = syncer.sync(options=CREATE_NS)
        assert "wave 0 is Degraded: Deployment shop/db: " in (degraded.error or "")


def test_crd_and_custom_resource_in_one_sync(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/crd.yaml": """\
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.x.io}
        spec:
          group: x.io
          scope: Namespaced
          names: {kind: Widget, plural: widgets}
          versions: [{name: v1, served: true, storage: true}]
        """, "app/widget.yaml": "apiVersion: x.io/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n"})
    result = syncer.sync(options=CREATE_NS)
    assert actions(result)[1:] == [("created", "CustomResourceDefinition widgets.x.io"), ("created", "Widget shop/w")]
    assert emulator.get("/apis/x.io/v1/namespaces/shop/widgets/w")["spec"] == {"size": 3}


def test_prune_deletes_only_what_it_applied_and_still_owns(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/a.yaml": configmap("keep"), "app/b.yaml": configmap("old"), "app/c.yaml": configmap("moved")})
    syncer.sync(options=CREATE_NS, prune=True)
    # someone else's ConfigMap in the same namespace; and "moved" now belongs to another app
    emulator.request("POST", CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}})
    emulator.request("PATCH", f"{CM}/moved", {"metadata": {"annotations": {
        "argocd.argoproj.io/tracking-id": "other:/ConfigMap:shop/moved"}}},
        content_type="application/merge-patch+json")
    syncer.remove("app/b.yaml")
    syncer.remove("app/c.yaml")
    result = syncer.sync(options=CREATE_NS, prune=True)
    assert ("pruned", "ConfigMap shop/old") in actions(result)
    assert ("prune-skipped", "ConfigMap shop/moved") in actions(result)
    assert not exists(emulator, f"{CM}/old")
    assert exists(emulator, f"{CM}/moved") and exists(emulator, f"{CM}/theirs") and exists(emulator, f"{CM}/keep")


def test_empty_render_prunes_nothing_unless_allow_empty(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/a.yaml": configmap("a")})
    syncer.sync(options=CREATE_NS, prune=True)
    syncer.remove("app/a.yaml")
    result = syncer.sync(options=CREATE_NS, prune=True)
    assert actions(result) == [("prune-skipped", "ConfigMap shop/a")]
    assert "the render is empty: nothing pruned" in result.message
    assert exists(emulator, f"{CM}/a")
    allowed = syncer.sync(options=CREATE_NS, prune=True, allow_empty=True)
    assert actions(allowed) == [("pruned", "ConfigMap shop/a")]
    assert not exists(emulator, f"{CM}/a")


def test_prune_opt_outs_and_confirm(syncer: Syncer, emulator: KubeEmulator) -> None:
    opt = "argocd.argoproj.io/sync-options"
    syncer.write({
        "app/keep.yaml": configmap("stay"),
        "app/a.yaml": configmap("no-prune", annotations=f"{{{opt}: 'Prune=false'}}"),
        "app/b.yaml": configmap("no-delete", annotations=f"{{{opt}: 'Delete=false'}}"),
        "app/c.yaml": configmap("confirm", annotations=f"{{{opt}: 'Prune=confirm'}}"),
        "app/d.yaml": configmap("plain"),
    })
    syncer.sync(options=CREATE_NS)
    for name in ("a", "b", "c", "d"):
        syncer.remove(f"app/{name}.yaml")
    # automated.prune is off: nothing is deleted, the unit says what requires pruning
    off = syncer.sync(options=CREATE_NS)
    assert ("would-prune", "ConfigMap shop/plain") in actions(off)
    assert exists(emulator, f"{CM}/plain")
    result = syncer.sync(options=CREATE_NS, run={"prune": True})
    assert sorted((a, r, o.message) for (a, r), o in zip(actions(result), result.outcomes, strict=True)) == [
        ("prune-skipped", "ConfigMap shop/confirm", "Prune=confirm: held until --confirm-prune"),
        ("prune-skipped", "ConfigMap shop/no-delete", "Delete=false"),
        ("prune-skipped", "ConfigMap shop/no-prune", "Prune=false"),
        ("pruned", "ConfigMap shop/plain", ""),
        ("unchanged", "ConfigMap shop/stay", ""),
    ]
    confirmed = syncer.sync(options=CREATE_NS, run={"prune": True, "confirm_prune": True})
    assert ("pruned", "ConfigMap shop/confirm") in actions(confirmed)
    assert exists(emulator, f"{CM}/no-prune") and exists(emulator, f"{CM}/no-delete")


def test_conflict_with_another_manager_and_force(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/a.yaml": configmap("a", "{level: info}")})
    syncer.sync(options=CREATE_NS)
    emulator.request("PATCH", f"{CM}/a", {"data": {"level": "debug"}}, content_type="application/merge-patch+json",
                     manager="kubectl-edit")
    syncer.write({"app/a.yaml": configmap("a", "{level: warn}")})
    result = syncer.sync(options=CREATE_NS)
    [outcome] = result.outcomes
    assert outcome.action == "failed"
    assert 'conflict with "kubectl-edit"' in outcome.message and "--force takes the fields over" in outcome.message
    forced = syncer.sync(options=CREATE_NS, run={"force": True})
    assert actions(forced) == [("configured", "ConfigMap shop/a")]
    assert emulator.get(f"{CM}/a")["data"] == {"level": "warn"}


def test_diff_shows_a_manual_edit_and_masks_secrets(syncer: Syncer, emulator: KubeEmulator) -> None:
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: hunter2, user: bot}\n"
    syncer.write({"app/d.yaml": deployment("web", "web:1"), "app/s.yaml": secret})
    syncer.sync(options=CREATE_NS)
    emulator.request("PATCH", f"{DEPLOY}/web", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "web:hotfix"}]}}}}, content_type="application/merge-patch+json")
    emulator.request("PATCH", "/api/v1/namespaces/shop/secrets/creds", {"data": {"password": "b3RoZXI="}},
                     content_type="application/merge-patch+json")
    result = syncer.sync(options=CREATE_NS, run={"diff": True, "dry_run": True})
    assert "-      - image: web:hotfix\n+      - image: web:1\n" in result.diff
    assert "hunter2" not in result.diff and "b3RoZXI=" not in result.diff
    assert "-  password: ++++++++ (before)\n+  password: ++++++++ (after)\n" in result.diff
    assert "user: ++++++++\n" in result.diff
    # the dry run changed nothing
    assert emulator.get(f"{DEPLOY}/web")["spec"]["template"]["spec"]["containers"][0]["image"] == "web:hotfix"
    status = syncer.status(options=CREATE_NS)
    assert status.sync == "OutOfSync"
    assert "Deployment shop/web: differs from Git" in status.why


def test_ignore_differences_hide_fields_from_status(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/d.yaml": deployment("web", "web:1")})
    syncer.sync(options=CREATE_NS)
    emulator.request("PATCH", f"{DEPLOY}/web", {"spec": {"replicas": 5}},
                     content_type="application/merge-patch+json", manager="hpa-controller")
    assert syncer.status(options=CREATE_NS).sync == "OutOfSync"
    for rule in (argo.IgnoreDifference(kind="Deployment", group="apps", json_pointers=("/spec/replicas",)),
                 argo.IgnoreDifference(kind="Deployment", group="apps", jq_path_expressions=(".spec.replicas",)),
                 argo.IgnoreDifference(kind="Deployment", group="apps", managed_fields_managers=("hpa-controller",))):
        status = syncer.status(options=CREATE_NS, ignore=(rule,))
        assert (status.sync, status.health) == ("Synced", "Healthy"), rule


def test_retry_backs_off_after_a_server_error(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/a.yaml": configmap("a")})
    emulator.fail("PATCH", "/configmaps/a", 500, times=2)
    retry = argo.RetryPolicy(limit=3, duration=datetime.timedelta(seconds=2), factor=3.0,
                             max_duration=datetime.timedelta(seconds=5))
    result = syncer.sync(options=CREATE_NS, retry=retry)
    assert not result.failed
    assert syncer.sleeps == [2.0, 5.0]
    emulator.fail("PATCH", "/configmaps/a", 500)
    syncer.sleeps.clear()
    failed = syncer.sync(options=CREATE_NS)
    assert failed.failed and "the API server answered 500" in (failed.error or "")
    assert syncer.sleeps == []


def test_a_negative_retry_limit_retries_without_a_count(syncer: Syncer, emulator: KubeEmulator) -> None:
    """Argo CD: ``limit`` below 0 is an unlimited number of retries. The one-shot sync took it as
    zero attempts, applied nothing and reported no failure."""
    syncer.write({"app/a.yaml": configmap("a")})
    emulator.fail("PATCH", "/configmaps/a", 500, times=4)
    retry = argo.RetryPolicy(limit=-1, duration=datetime.timedelta(seconds=1), factor=2.0,
                             max_duration=datetime.timedelta(seconds=3))
    result = syncer.sync(options=CREATE_NS, retry=retry)
    assert not result.failed
    assert ("created", "ConfigMap shop/a") in actions(result)
    assert exists(emulator, f"{CM}/a")
    assert syncer.sleeps == [1.0, 2.0, 3.0, 3.0]


def test_dry_run_with_a_cluster_changes_nothing(syncer: Syncer, emulator: KubeEmulator) -> None:
    syncer.write({"app/a.yaml": configmap("a")})
    result = syncer.sync(options=CREATE_NS, run={"dry_run": True})
    assert actions(result) == [("created", "Namespace shop"), ("created", "ConfigMap shop/a")]
    assert not exists(emulator, "/api/v1/namespaces/shop")


@pytest.mark.parametrize("kind", ["Application", "Kustomization"])
def test_inventory_is_kept_in_the_units_namespace(syncer: Syncer, emulator: KubeEmulator, kind: str) -> None:
    syncer.write({"app/a.yaml": configmap("a")})
    syncer.sync(options=CREATE_NS, kind=kind)
    name = "imagebot-inventory-web" if kind == "Application" else "imagebot-inventory-kustomization.argocd-web"
    inventory = emulator.get(f"/api/v1/namespaces/argocd/configmaps/{name}")["data"]
    assert inventory["entries"] == '[{"id":"shop_a__ConfigMap","v":"v1"}]'
    assert (inventory["revision"], inventory["phase"]) == ("rev1", "Succeeded")
