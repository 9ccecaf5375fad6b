"""The whole GitOps loop of the seed document on a real kube-apiserver (issue 13, "Done when").

A real docker-registry, a real git remote (file://), the local GitHub API for prod's pull
requests, and kube-apiserver 1.20 with kube-controller-manager and the test kubelet marking Pods
ready. The layout is the seed's (``testing/gitopsloop.py``): ``apps/web/base`` +
``overlays/dev|staging|prod``, one ApplicationSet generating the three Applications, dev and
staging following new builds by direct commit, prod by pull request; staging is gated on dev (``imagebot.dev/promote-after``), prod on
staging. Run twice: driven step by step through the CLI (``imagebot run``, ``sync --state``,
``apps --state``), and through ``imagebot serve``'s in-process service with its scheduler paused
and an injected clock (the test calls the automation and Application jobs the scheduler would;
the gates read what the sync loop records).

Aspects: a new tag pushed to the registry is committed to dev, synced and rolled out Healthy;
staging follows only once dev is Healthy at that tag; prod gets a pull request only once staging
is; a rollback of prod's commit (a pull request too, merged) restores the old image in the
cluster, and the rolled-back tag is not proposed again.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from imagebot import cli, config, pipeline, sync, validation
from imagebot.model.health import HealthStatus
from imagebot.model.ids import ObjectKey
from imagebot.schedule import Listener, ServeSettings, Service
from imagebot.state import StateStore
from testing.gitopsloop import ENVS, files, policies
from testing.gitrepos import git, git_env, make_bare
from testing.kube import KubeCluster, KubeError
from testing.registry import RegistryServer
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

@pytest.fixture
def suffix(kube_cluster: KubeCluster) -> Iterator[str]:
    """A name part no other test uses; the three namespaces it names are deleted afterwards."""
    value = uuid.uuid4().hex[:6]
    yield value
    for env in ENVS:
        with contextlib.suppress(KubeError):
            kube_cluster.request("DELETE", f"/api/v1/namespaces/web-{value}-{env}")
        with contextlib.suppress(KubeError):
            kube_cluster.request("DELETE", f"/api/v1/namespaces/argocd/configmaps/imagebot-inventory-web-{value}-{env}")


def test_new_tag_flows_dev_staging_prod_then_prod_is_rolled_back(
    tmp_path: Path, kube_cluster: KubeCluster, registry_anonymous: RegistryServer,
    repo: Callable[[str], str], suffix: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = repo("org/web")
    registry_anonymous.push_tags(name, ["1.0.0"])
    image = f"{registry_anonymous.host}/{name}"
    genv = git_env(tmp_path / "git-home")
    bare = make_bare(tmp_path / "gitops.git", files(image), env=genv)
    github = FakeGitHub().start()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_valid")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "all.yaml").write_text(
        policies(image, f"file://{bare}", suffix=suffix, forge=github.base_url))
    db = str(tmp_path / "state.db")
    config = ["--config", str(tmp_path / "policies"), "--state", db]
    cluster = ["--kubeconfig", str(kube_cluster.kubeconfig), "--workdir", str(tmp_path / "sync-work")]
    app = {env: f"argocd/web-{suffix}-{env}" for env in ENVS}

    def imagebot(*argv: str) -> str:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        assert code == 0, f"imagebot {' '.join(argv[:2])}: {out}\n{err}"
        return out

    def run() -> dict[str, Any]:
        out = imagebot("run", "--json", *config, "--workdir", str(tmp_path / "run-work"))
        return {a["automation"].removeprefix("flux-system/web-"): a for a in json.loads(out)["automations"]}

    def deployment(env: str) -> dict[str, Any]:
        return kube_cluster.get(f"/apis/apps/v1/namespaces/web-{suffix}-{env}/deployments/web")

    def running(env: str) -> str:
        return str(deployment(env)["spec"]["template"]["spec"]["containers"][0]["image"])

    def sync_and_observe(*envs: str) -> None:
        """Sync, wait for the rollouts the test kubelet completes, then record what apps sees."""
        imagebot("sync", *(app[e] for e in envs), *config, *cluster)
        for env in envs:
            kube_cluster.wait_for(
                f"/apis/apps/v1/namespaces/web-{suffix}-{env}/deployments/web",
                lambda d: (h := sync.assess(d)) is not None and h.status == HealthStatus.HEALTHY)
        rows = json.loads(imagebot("apps", "--json", *(app[e] for e in envs), *config, *cluster))
        assert {(r["sync"], r["health"]) for r in rows} == {("Synced", "Healthy")}, rows

    def show(env: str, ref: str = "main") -> str:
        return git("show", f"{ref}:apps/web/overlays/{env}/kustomization.yaml", cwd=bare, env=genv)

    def merge(branch: str) -> None:
        """'Rebase and merge' on the forge: main fast-forwards to the pull request's branch."""
        git("merge-base", "--is-ancestor", "main", branch, cwd=bare, env=genv)
        git("update-ref", "refs/heads/main", git("rev-parse", branch, cwd=bare, env=genv).strip(),
            cwd=bare, env=genv)

    try:
        # the three Applications the ApplicationSet generates run 1.0.0, Healthy
        sync_and_observe(*ENVS)
        assert {running(env) for env in ENVS} == {f"{image}:1.0.0"}

        # a new build: dev follows by direct commit; staging and prod wait for the env before them
        registry_anonymous.push_tags(name, ["1.1.0"])
        reports = run()
        assert reports["dev"]["revision"] is not None
        assert "newTag: 1.1.0" in show("dev")
        assert reports["staging"]["revision"] is None
        assert reports["staging"]["waiting"].startswith(
            f"waiting for Application {app['dev']} to be Synced and Healthy running {image}:1.1.0 "
            f"(Synced and Healthy at ")
        assert reports["staging"]["waiting"].endswith(f"but its files there hold {image}:1.0.0)")
        assert "newTag: 1.0.0" in show("staging")
        assert "newTag: 1.0.0" in show("prod") and not github.pulls

        # dev synced and rolled out Healthy at 1.1.0: now staging follows, prod still waits
        sync_and_observe("dev")
        assert running("dev") == f"{image}:1.1.0"
        reports = run()
        assert reports["staging"]["revision"] is not None and "newTag: 1.1.0" in show("staging")
        assert reports["prod"]["waiting"] is not None and not github.pulls

        # staging Healthy at 1.1.0: prod gets a pull request (main's prod overlay is untouched)
        sync_and_observe("staging")
        assert running("staging") == f"{image}:1.1.0"
        reports = run()
        assert reports["prod"]["waiting"] is None
        assert [p.head for p in github.pulls.values()] == ["imagebot/web-prod"]
        assert "newTag: 1.0.0" in show("prod") and "newTag: 1.1.0" in show("prod", "imagebot/web-prod")

        # the pull request is merged; prod syncs to 1.1.0
        merge("imagebot/web-prod")
        sync_and_observe("prod")
        assert running("prod") == f"{image}:1.1.0"

        # rollback of prod's commit: a pull request too (prod's mode), merged, synced: 1.0.0 again
        out = imagebot("rollback", app["prod"], *config, "--workdir", str(tmp_path / "run-work"))
        assert f"{image} 1.1.0 -> 1.0.0" in out
        rollback_branch = f"imagebot/rollback-argocd-web-{suffix}-prod"
        assert github.pulls[2].head == rollback_branch
        assert github.pulls[2].title == 'Revert "chore(images): update 1 image"'
        merge(rollback_branch)
        sync_and_observe("prod")
        assert running("prod") == f"{image}:1.0.0"
        assert {running("dev"), running("staging")} == {f"{image}:1.1.0"}

        # the bot does not propose 1.1.0 for prod again
        reports = run()
        prod_policy = reports["prod"]["policies"][0]
        assert prod_policy["selected"] is None and prod_policy["reason"].startswith("held: 1.1.0 was rolled back")
        assert len(github.pulls) == 2
    finally:
        github.stop()


class Clock:
    """The service's clock, moved only by the test (the loop's decisions read it)."""

    def __init__(self) -> None:
        self.now = datetime.datetime.now(datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.now


class Reports(Listener):
    """A ``schedule.Listener`` keeping each automation job's report."""

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}

    def automation_ran(self, automation: ObjectKey, report: Any, error: BaseException | None,
                       seconds: float) -> None:
        assert error is None, error
        self.last[automation.name.removeprefix("web-")] = report.automations[0]



def test_the_same_loop_driven_by_serves_in_process_service(
    tmp_path: Path, kube_cluster: KubeCluster, registry_anonymous: RegistryServer,
    repo: Callable[[str], str], suffix: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = repo("org/web")
    registry_anonymous.push_tags(name, ["1.0.0"])
    image = f"{registry_anonymous.host}/{name}"
    genv = git_env(tmp_path / "git-home")
    bare = make_bare(tmp_path / "gitops.git", files(image), env=genv)
    github = FakeGitHub().start()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_valid")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "all.yaml").write_text(
        policies(image, f"file://{bare}", suffix=suffix, forge=github.base_url))
    reports = Reports()
    service = Service(ServeSettings(
        config_path=tmp_path / "policies", state_path=tmp_path / "state.db", watch=0, grace=1,
        workdir=tmp_path / "serve-work", kubeconfig=kube_cluster.kubeconfig,
    ), clock=Clock(), listeners=[reports])
    service.start(paused=True)  # the test calls the jobs the scheduler would run

    def deployment(env: str) -> str:
        path = f"/apis/apps/v1/namespaces/web-{suffix}-{env}/deployments/web"
        live = kube_cluster.wait_for(path, lambda d: (h := sync.assess(d)) is not None
                                     and h.status == HealthStatus.HEALTHY)
        return str(live["spec"]["template"]["spec"]["containers"][0]["image"])

    def check(*envs: str) -> None:
        """The unit jobs: the first check syncs, the next (after the rollout) records Healthy."""
        for env in envs:
            assert service.reconcile(f"app:argocd/web-{suffix}-{env}", forced=True) == "ok"
            deployment(env)
            assert service.reconcile(f"app:argocd/web-{suffix}-{env}", forced=True) == "ok"
        with StateStore(tmp_path / "state.db") as store:
            for env in envs:
                seen = store.app(f"argocd/web-{suffix}-{env}")
                assert seen is not None and (seen.sync, seen.health) == ("Synced", "Healthy"), seen

    def run(env: str) -> Any:
        service.run_automation(ObjectKey("flux-system", f"web-{env}"), forced=True)
        return reports.last[env]

    def merge(branch: str) -> None:
        git("update-ref", "refs/heads/main", git("rev-parse", branch, cwd=bare, env=genv).strip(),
            cwd=bare, env=genv)

    try:
        check(*ENVS)
        registry_anonymous.push_tags(name, ["1.1.0"])
        assert run("dev").revision is not None
        assert run("staging").waiting is not None
        check("dev")
        assert deployment("dev") == f"{image}:1.1.0"
        assert run("staging").revision is not None
        assert run("prod").waiting is not None and not github.pulls
        check("staging")
        assert run("prod").pull_requests and [p.head for p in github.pulls.values()] == ["imagebot/web-prod"]
        merge("imagebot/web-prod")
        check("prod")
        assert deployment("prod") == f"{image}:1.1.0"
        with StateStore(tmp_path / "state.db") as store:
            report = pipeline.rollback(validation.load(tmp_path / "policies"), app=f"argocd/web-{suffix}-prod",
                                       secrets=config.SecretStore(tmp_path / "no-secrets"), state=store,
                                       options=pipeline.RollbackOptions(workdir=tmp_path / "serve-work"))
        assert report.pull_request is not None
        merge(f"imagebot/rollback-argocd-web-{suffix}-prod")
        check("prod")
        assert deployment("prod") == f"{image}:1.0.0"
        assert run("prod").revision is None and len(github.pulls) == 2
    finally:
        service.stop(0)
        github.stop()
