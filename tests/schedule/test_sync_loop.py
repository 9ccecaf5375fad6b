"""``imagebot serve``'s sync loop on the Kubernetes API emulator and a real Git repository, with
APScheduler paused and an injected clock (nothing sleeps; jobs are called as the scheduler would):

* every Application is scheduled at its interval (3 min by default, Flux ``spec.interval``);
* a pushed commit touching a unit's path queues it at once, another path does not;
* the first check syncs and records history; ``revisionHistoryLimit`` bounds it;
* drift is healed with ``selfHeal`` (with the self-heal backoff) and reported OutOfSync without;
* a failing sync is retried with capped exponential backoff, then left alone;
* a job never overlaps itself; one failing Application does not stop the others;
* an ApplicationSet has its own job (3 min by default, as Argo CD's requeue), queued at once by a
  push (imagebot's or a Git webhook's) to the repository its git generator reads, on the branch
  it reads (the real-apiserver loop: ``test_appset_loop_apiserver.py``); an Application whose
  generated spec changed is updated and checked at once; one dropped under
  ``preserveResourcesOnDeletion`` leaves the loop and the state store, its objects stay.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from imagebot import sync
from imagebot.config import SecretStore
from imagebot.model.changes import ChangeSet, FieldChange, FileChange
from imagebot.model.cluster import AppState, SyncRecord
from imagebot.model.ids import ObjectKey
from imagebot.model.revisions import PullRequestRef, Revision
from imagebot.pipeline import AutomationReport, RunReport
from imagebot.schedule import HTTPServer, Metrics, ServeSettings, Service
from imagebot.state import StateStore
from testing import fluxyaml
from testing.gitrepos import git, git_env, write_files
from testing.kubeapi import KubeEmulator

MERGE = "application/merge-patch+json"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


def settings(name: str, value: str = "1") -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{value: '{value}'}}\n"


def application(name: str, path: str, repo: Path, *, self_heal: bool = True, extra: str = "") -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  source: {{repoURL: '{repo}', targetRevision: main, path: {path}}}
  destination: {{server: https://kubernetes.default.svc, namespace: {name}}}
  syncPolicy:
    automated: {{prune: true, selfHeal: {str(self_heal).lower()}}}
    syncOptions: [CreateNamespace=true]
{extra}---
"""


@dataclasses.dataclass
class Fleet:
    repo: Path
    env: dict[str, str]
    policies: Path

    def commit(self, files: dict[str, str]) -> str:
        write_files(self.repo, files)
        git("add", "-A", cwd=self.repo, env=self.env)
        git("commit", "-q", "-m", "change", cwd=self.repo, env=self.env)
        return git("rev-parse", "HEAD", cwd=self.repo, env=self.env).strip()


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    repo = tmp_path / "fleet"
    repo.mkdir()
    env = git_env(tmp_path / "home")
    git("init", "-q", "-b", "main", cwd=repo, env=env)
    found = Fleet(repo, env, tmp_path / "policies")
    found.commit({"apps/dev/settings.yaml": settings("settings"), "apps/prod/settings.yaml": settings("settings")})
    write_files(found.policies, {"apps.yaml": (
        application("dev", "apps/dev", repo, extra="  revisionHistoryLimit: 2\n")
        + application("prod", "apps/prod", repo, self_heal=False)
        + application("broken", "apps/missing", repo))})
    return found


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[KubeEmulator]:
    (tmp_path / "kube").mkdir()
    with KubeEmulator(tmp_path / "kube") as api:
        yield api


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(fleet: Fleet, emulator: KubeEmulator, clock: Clock, tmp_path: Path) -> Iterator[Service]:
    service = Service(ServeSettings(
        config_path=fleet.policies, state_path=tmp_path / "state.db", watch=0, grace=1,
        workdir=tmp_path / "work", kubeconfig=emulator.kubeconfig,
        sync_options=sync.SyncOptions(poll=0.0, sleep=lambda seconds: None),
    ), clock=clock)
    service.start(paused=True)
    yield service
    service.stop(0)


def value(emulator: KubeEmulator, namespace: str) -> str:
    return str(emulator.get(f"/api/v1/namespaces/{namespace}/configmaps/settings")["data"]["value"])


def drift(emulator: KubeEmulator, namespace: str) -> None:
    emulator.request("PATCH", f"/api/v1/namespaces/{namespace}/configmaps/settings",
                     {"data": {"value": "edited"}}, content_type=MERGE, manager="kubectl-edit")


def stored(service: Service, unit: str) -> tuple[AppState | None, tuple[SyncRecord, ...]]:
    with StateStore(service.settings.state_path) as store:
        return store.app(unit), store.history(unit)


def test_every_application_is_scheduled_at_its_interval(service: Service, fleet: Fleet) -> None:
    assert service.scheduled() == ["app:argocd/broken", "app:argocd/dev", "app:argocd/prod"]
    assert service.interval_of("app:argocd/dev") == datetime.timedelta(minutes=3)
    write_files(fleet.policies, {"flux.yaml": fluxyaml.git_repository("fleet", str(fleet.repo)) + """\
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {interval: 7m, path: apps/dev, prune: true, sourceRef: {kind: GitRepository, name: fleet}}
"""})
    assert service.reload()
    assert service.interval_of("kustomization:flux-system/apps") == datetime.timedelta(minutes=7)


def test_the_first_check_syncs_and_records_the_result(service: Service, emulator: KubeEmulator,
                                                       fleet: Fleet) -> None:
    head = git("rev-parse", "HEAD", cwd=fleet.repo, env=fleet.env).strip()

    assert service.reconcile("app:argocd/dev") == "ok"

    assert value(emulator, "dev") == "1"
    state, history = stored(service, "argocd/dev")
    assert state is not None and (state.sync, state.health, state.last_result) == ("Synced", "Healthy", "Succeeded")
    assert state.ready_at(head) and state.ready_at(head[:7]) and not state.ready_at("0" * 40)
    assert [(r.revision, r.result, r.changed, r.trigger) for r in history] == [
        (head, "Succeeded", 2, "new revision")]  # the namespace and the ConfigMap


def test_drift_is_healed_with_self_heal_and_its_backoff(service: Service, emulator: KubeEmulator,
                                                        clock: Clock) -> None:
    service.reconcile("app:argocd/dev")
    drift(emulator, "dev")
    clock.advance(60)

    service.reconcile("app:argocd/dev")  # the first heal is immediate
    assert value(emulator, "dev") == "1"

    drift(emulator, "dev")
    clock.advance(1)
    service.reconcile("app:argocd/dev")  # the second waits 2 s after the first ended
    assert value(emulator, "dev") == "edited"
    state, _ = stored(service, "argocd/dev")
    assert state is not None and state.sync == "OutOfSync"
    check = service._scheduler.get_job("app:argocd/dev#check")
    assert check is not None  # looked at again when the backoff ends

    clock.advance(1)
    service.reconcile("app:argocd/dev", reason="self-heal")
    assert value(emulator, "dev") == "1"
    _, history = stored(service, "argocd/dev")
    assert [r.trigger for r in history] == ["self-heal", "self-heal"]  # bounded by revisionHistoryLimit: 2
    assert service.apps is not None and service.apps.track("argocd/dev").self_heals == 2


def test_drift_without_self_heal_is_reported_out_of_sync(service: Service, emulator: KubeEmulator) -> None:
    service.reconcile("app:argocd/prod")
    drift(emulator, "prod")

    service.reconcile("app:argocd/prod")

    assert value(emulator, "prod") == "edited"
    state, history = stored(service, "argocd/prod")
    assert state is not None and state.sync == "OutOfSync" and state.last_result == "Succeeded"
    assert any("differs from Git" in why for why in state.why)
    assert len(history) == 1


def test_a_new_commit_is_synced_and_history_keeps_revision_history_limit(
    service: Service, emulator: KubeEmulator, fleet: Fleet,
) -> None:
    revisions = []
    for n in range(3):
        revisions.append(fleet.commit({"apps/dev/settings.yaml": settings("settings", str(10 + n))}))
        service.reconcile("app:argocd/dev")
        assert value(emulator, "dev") == str(10 + n)
    _, history = stored(service, "argocd/dev")
    assert [r.revision for r in history] == revisions[1:]


def test_a_failing_sync_is_retried_with_capped_exponential_backoff(
    service: Service, emulator: KubeEmulator, clock: Clock,
) -> None:
    emulator.fail("PATCH", "configmaps/settings", 500, times=3)
    waits = []
    for _ in range(4):
        service.reconcile("app:argocd/dev", reason="retry")
        job = service._scheduler.get_job("app:argocd/dev#retry")
        if job is not None:
            waits.append(round((job.next_run_time - datetime.datetime.now(datetime.UTC)).total_seconds()))
            job.remove()
    assert waits == [5, 10, 20]  # 5 s, ×2, …; the fourth try succeeded
    assert value(emulator, "dev") == "1"
    _, history = stored(service, "argocd/dev")
    assert [r.result for r in history] == ["Failed", "Succeeded"]  # the limit keeps two


def test_retries_end_at_the_limit_and_the_revision_is_not_synced_again(
    service: Service, emulator: KubeEmulator,
) -> None:
    emulator.fail("PATCH", "configmaps/settings", 500, times=100)
    for _ in range(7):
        service.reconcile("app:argocd/dev", reason="retry")
    assert service.apps is not None and service.apps.track("argocd/dev").retries == 5
    assert service._scheduler.get_job("app:argocd/dev#retry") is not None
    service._scheduler.remove_job("app:argocd/dev#retry")
    service.reconcile("app:argocd/dev", reason="retry")  # the sixth try was the last
    assert service._scheduler.get_job("app:argocd/dev#retry") is None
    service.reconcile("app:argocd/dev")  # an interval check does not sync a failed revision again
    state, _ = stored(service, "argocd/dev")
    assert state is not None and state.last_result == "Failed" and state.sync == "OutOfSync"


def test_a_job_never_overlaps_itself(service: Service) -> None:
    seen: list[str] = []

    class Reentrant:
        def __getattr__(self, name: str) -> object:
            return lambda *args: None

        def app_checked(self, state: AppState, record: SyncRecord | None, previous: str | None) -> None:
            if not seen:  # two triggers while the first run is still running
                seen.append(service.reconcile("app:argocd/dev"))
                seen.append(service.reconcile("app:argocd/dev", reason="push", forced=True))

    service.add_listener(Reentrant())  # type: ignore[arg-type]
    assert service.reconcile("app:argocd/dev") == "ok"
    assert seen == ["busy", "busy"]  # triggers while it ran coalesced into one more run
    assert service.book.state("app:argocd/dev").runs == 2


def test_one_failing_application_does_not_stop_the_others(service: Service, emulator: KubeEmulator) -> None:
    assert service.reconcile("app:argocd/broken") == "failed"
    assert service.reconcile("app:argocd/prod") == "ok"
    assert value(emulator, "prod") == "1"
    state, _ = stored(service, "argocd/broken")
    assert state is not None and state.sync == "Unknown" and "apps/missing" in state.why[0]


def _report(paths: list[str], *, branch: str = "main", pull_request: bool = False) -> RunReport:
    key = ObjectKey("flux-system", "fleet")
    change = FieldChange(1, "flux-system:web", ObjectKey("flux-system", "web"), "1.0.0", "1.1.0")
    run = AutomationReport(
        automation=key, evaluations=(), current={},
        changes=ChangeSet(files=tuple(FileChange(p, (change,)) for p in paths)),
        revision=Revision(branch, "f" * 40),
        pull_requests=(PullRequestRef(1, "https://github.example/pr/1", created=True),) if pull_request else ())
    return RunReport(automations=(run,), failures=())


def test_a_pushed_commit_queues_the_units_whose_path_it_touched_at_once(service: Service, fleet: Fleet) -> None:
    write_files(fleet.policies, {"automation.yaml": fluxyaml.fleet(str(fleet.repo), suspend=False)})
    assert service.reload()
    automation = service.cfg.automations[ObjectKey("flux-system", "fleet")]

    def queued() -> list[str]:
        return sorted(j.id for j in service._scheduler.get_jobs() if j.id.endswith("#now"))

    service._pushed(automation, _report(["apps/dev/settings.yaml"], branch="imagebot/web", pull_request=True))
    assert queued() == []  # a pull request branch is not what the Applications follow
    service._pushed(automation, _report(["apps/dev/settings.yaml"]))
    assert queued() == ["app:argocd/dev#now"]  # not prod: another path
    service._pushed(automation, _report(["apps/dev/settings.yaml", "apps/prod/settings.yaml"]))
    assert queued() == ["app:argocd/dev#now", "app:argocd/prod#now"]
    assert service.units_for_push(str(fleet.repo) + ".git", "feature", None) == []
    assert service.units_for_push(str(fleet.repo), "main", None) == [
        "app:argocd/broken", "app:argocd/dev", "app:argocd/prod"]


RECEIVER = """\
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  type: {type}
  events: [ping, push]
  secretRef: {{name: hooks}}
  resources: [{resources}]
---
"""


@contextlib.contextmanager
def _serving_webhooks(fleet: Fleet, emulator: KubeEmulator, tmp_path: Path, clock: Clock,
                      files: dict[str, str], token: str) -> Iterator[tuple[Service, HTTPServer, Metrics]]:
    """A paused service over ``files`` (its Receivers' secret ``hooks`` holds ``token``), with its
    webhook server on a free loopback port."""
    write_files(fleet.policies, files)
    (tmp_path / "secrets" / "hooks").mkdir(parents=True)
    (tmp_path / "secrets" / "hooks" / "token").write_text(token)
    service = Service(ServeSettings(
        config_path=fleet.policies, secrets_dir=tmp_path / "secrets", state_path=tmp_path / "state.db",
        watch=0, grace=1, workdir=tmp_path / "work", kubeconfig=emulator.kubeconfig), clock=clock)
    service.start(paused=True)
    metrics = Metrics()
    server = HTTPServer(("127.0.0.1", 0), service=service, metrics=metrics,
                        secrets=SecretStore(tmp_path / "secrets")).start()
    try:
        yield service, server, metrics
    finally:
        server.stop()
        service.stop(0)


def _github_push(server: HTTPServer, token: str, *, ref: str, delivery: str, added: Sequence[str] = (),
                 modified: Sequence[str] = (), signature: str | None = None) -> httpx.Response:
    """A GitHub push event to the Receiver flux-system/github, signed with ``token``."""
    body = json.dumps({"ref": ref, "commits": [{"id": "f" * 40, "added": list(added), "modified": list(modified),
                                                "removed": []}]}).encode()
    signed = "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return httpx.post(f"http://127.0.0.1:{server.port}" + server.paths()[ObjectKey("flux-system", "github")],
                      content=body, headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
                                             "X-Hub-Signature-256": signature or signed,
                                             "Content-Type": "application/json"})


def test_a_git_push_webhook_queues_the_units_it_names(fleet: Fleet, emulator: KubeEmulator, tmp_path: Path,
                                                       clock: Clock) -> None:
    token = "push-token-81d3"
    files = {"hooks.yaml": fluxyaml.git_repository("fleet", str(fleet.repo)) + "---\n"
             + RECEIVER.format(name="github", namespace="flux-system", type="github",
                               resources="{kind: GitRepository, name: fleet}")
             + RECEIVER.format(name="generic", namespace="argocd", type="generic",
                               resources="{kind: Application, name: prod}")}
    with _serving_webhooks(fleet, emulator, tmp_path, clock, files, token) as (service, server, metrics):
        paths = server.paths()
        base = f"http://127.0.0.1:{server.port}"

        def queued() -> list[str]:
            jobs = sorted(j.id for j in service._scheduler.get_jobs() if j.id.endswith("#now"))
            for job in jobs:
                service._scheduler.remove_job(job)
            return jobs

        def github(files: list[str], *, ref: str = "refs/heads/main", delivery: str = "1",
                   signature: str | None = None) -> httpx.Response:
            return _github_push(server, token, ref=ref, delivery=delivery, modified=files, signature=signature)

        answer = github(["apps/dev/settings.yaml"])
        assert answer.status_code == 202, answer.text
        assert answer.json()["applications"] == ["app:argocd/dev"]
        assert queued() == ["app:argocd/dev#now"]
        assert github(["apps/prod/settings.yaml"], ref="refs/heads/feature", delivery="2").json() == {
            "applications": [], "queued": [], "applicationSets": [],
            "generating": []}  # a branch the Applications do not follow
        assert github(["README.md"], delivery="3").json()["applications"] == []  # no unit's path
        assert github(["apps/dev/a.yaml"], delivery="4", signature="sha256=" + "0" * 64).status_code == 401
        assert github(["apps/dev/settings.yaml"]).status_code == 409  # a replayed delivery
        assert queued() == []

        generic = httpx.post(base + paths[ObjectKey("argocd", "generic")], json={"ref": "refs/heads/main"},
                             headers={"Authorization": f"Bearer {token}"})
        assert generic.status_code == 202 and generic.json()["applications"] == ["app:argocd/prod"]
        assert queued() == ["app:argocd/prod#now"]
        text = metrics.render().decode()
        assert 'imagebot_webhooks_total{receiver="flux-system/github",result="accepted"} 3.0' in text


def test_imagebot_apps_shows_what_serve_recorded_also_without_a_cluster(
    service: Service, emulator: KubeEmulator, fleet: Fleet, capsys: pytest.CaptureFixture[str],
) -> None:
    from imagebot import cli

    head = git("rev-parse", "HEAD", cwd=fleet.repo, env=fleet.env).strip()
    service.reconcile("app:argocd/dev")
    emulator.fail("PATCH", "configmaps/settings", 500, times=1)
    service.reconcile("app:argocd/prod")
    state = ["--config", str(fleet.policies), "--state", str(service.settings.state_path)]

    assert cli.main(["apps", "--json", *state]) == 0  # no kubeconfig: the state store's view
    rows = {row["app"]: row for row in json.loads(capsys.readouterr().out)}
    assert (rows["argocd/dev"]["sync"], rows["argocd/dev"]["health"], rows["argocd/dev"]["revision"]) == (
        "Synced", "Healthy", head)
    assert rows["argocd/dev"]["lastSync"]["result"] == "Succeeded"
    assert rows["argocd/prod"]["lastSync"]["result"] == "Failed"
    assert "500" in rows["argocd/prod"]["lastSync"]["error"]
    assert rows["argocd/broken"]["sync"] == "Unknown" and "lastSync" not in rows["argocd/broken"]

    code = cli.main(["apps", "argocd/dev", *state, "--kubeconfig", str(emulator.kubeconfig),
                     "--workdir", str(service.settings.workdir)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and lines[0].split() == ["APP", "APPSET", "REVISION", "SYNC", "HEALTH", "LAST", "SYNC", "WHY"]
    assert lines[1].split()[:6] == ["argocd/dev", "-", head[:12], "Synced", "Healthy", "Succeeded"]


APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: dirs, namespace: argocd}}
spec:
  generators:
  - git: {{repoURL: '{repo}', revision: main, directories: [{{path: 'apps/*'}}]}}
  template:
    metadata: {{name: 'gen-{{{{path.basename}}}}'}}
    spec:
      source: {{repoURL: '{repo}', targetRevision: main, path: '{{{{path}}}}'}}
      destination: {{server: https://kubernetes.default.svc, namespace: 'gen-{{{{path.basename}}}}'}}
---
"""


def test_an_application_set_job_runs_at_its_interval_and_at_once_on_a_push(
    fleet: Fleet, emulator: KubeEmulator, tmp_path: Path, clock: Clock,
) -> None:
    token = "push-token-5be0"
    files = {"sets.yaml": APPSET.format(repo=fleet.repo),
             "hooks.yaml": fluxyaml.fleet(str(fleet.repo)) + "---\n"
             + RECEIVER.format(name="github", namespace="flux-system", type="github",
                               resources="{kind: GitRepository, name: fleet}")}
    with _serving_webhooks(fleet, emulator, tmp_path, clock, files, token) as (service, server, _):
        assert service.interval_of("appset:argocd/dirs") == datetime.timedelta(minutes=3)
        assert {"app:argocd/gen-dev", "app:argocd/gen-prod"} <= set(service.scheduled())
        assert service.unit("app:argocd/gen-dev") is not None
        assert service.unit("app:argocd/gen-dev").application_set == ObjectKey("argocd", "dirs")  # type: ignore[union-attr]

        def queued() -> list[str]:
            jobs = sorted(j.id for j in service._scheduler.get_jobs() if j.id.startswith("appset:")
                          and j.id.endswith("#now"))
            for job in jobs:
                service._scheduler.remove_job(job)
            return jobs

        automation = service.cfg.automations[ObjectKey("flux-system", "fleet")]
        service._pushed(automation, _report(["apps/dev/settings.yaml"], branch="imagebot/web", pull_request=True))
        assert queued() == []  # a pull request's branch: the generator reads main
        service._pushed(automation, _report(["apps/dev/settings.yaml"]))
        assert queued() == ["appset:argocd/dirs#now"]

        def github(ref: str, delivery: str) -> dict[str, object]:
            answer = _github_push(server, token, ref=ref, delivery=delivery, added=["apps/new/a.yaml"])
            assert answer.status_code == 202, answer.text
            found: dict[str, object] = answer.json()
            return found

        assert github("refs/heads/feature", "1")["applicationSets"] == []
        assert queued() == []
        assert github("refs/heads/main", "2")["applicationSets"] == ["appset:argocd/dirs"]
        assert queued() == ["appset:argocd/dirs#now"]


def test_serve_takes_the_application_set_interval_from_its_flag() -> None:
    import argparse

    from imagebot.commands import serve
    from imagebot.errors import ConfigError

    parser = argparse.ArgumentParser()
    serve.configure(parser)
    args = parser.parse_args(["--no-sync"])
    assert serve.settings_from(args).appset_interval == datetime.timedelta(minutes=3)
    args = parser.parse_args(["--no-sync", "--appset-interval", "30"])
    assert serve.settings_from(args).appset_interval == datetime.timedelta(seconds=30)
    with pytest.raises(ConfigError, match="--appset-interval 0: expected a number of seconds above 0"):
        serve.settings_from(parser.parse_args(["--no-sync", "--appset-interval", "0"]))


FILES_APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: files, namespace: argocd}}
spec:
  syncPolicy: {{preserveResourcesOnDeletion: true}}
  generators:
  - git: {{repoURL: '{repo}', revision: main, files: [{{path: 'envs/*.yaml'}}]}}
  template:
    metadata: {{name: 'files-{{{{env}}}}'}}
    spec:
      source: {{repoURL: '{repo}', targetRevision: main, path: '{{{{target}}}}'}}
      destination: {{server: https://kubernetes.default.svc, namespace: 'files-{{{{env}}}}'}}
      syncPolicy: {{automated: {{prune: true}}, syncOptions: [CreateNamespace=true]}}
---
"""


def test_a_changed_application_is_checked_at_once_and_a_preserved_one_leaves_its_objects(
    fleet: Fleet, emulator: KubeEmulator, tmp_path: Path, clock: Clock,
) -> None:
    fleet.commit({"envs/dev.yaml": "{env: dev, target: apps/dev}\n",
                  "apps/prod/settings.yaml": settings("settings", "prod")})
    write_files(fleet.policies, {"sets.yaml": FILES_APPSET.format(repo=fleet.repo)})
    service = Service(ServeSettings(
        config_path=fleet.policies, state_path=tmp_path / "state.db", watch=0, grace=1,
        workdir=tmp_path / "work", kubeconfig=emulator.kubeconfig,
        sync_options=sync.SyncOptions(poll=0.0, sleep=lambda seconds: None)), clock=clock)
    service.start(paused=True)
    try:
        assert service.reconcile("app:argocd/files-dev") == "ok"
        assert value(emulator, "files-dev") == "1"

        # the file now points the Application elsewhere: updated in the loop, checked at once
        fleet.commit({"envs/dev.yaml": "{env: dev, target: apps/prod}\n"})
        assert service.regenerate("appset:argocd/files", forced=True) == "ok"
        unit = service.unit("app:argocd/files-dev")
        assert unit is not None and unit.path == "apps/prod"
        assert [j.id for j in service._scheduler.get_jobs() if j.id.endswith("#now")] == ["app:argocd/files-dev#now"]
        assert service.reconcile("app:argocd/files-dev", forced=True) == "ok"
        assert value(emulator, "files-dev") == "prod"

        # the file removed: the Application leaves the loop; preserveResourcesOnDeletion keeps its objects
        def inventories() -> list[str]:
            return [i["metadata"]["name"] for i in emulator.get("/api/v1/namespaces/argocd/configmaps")["items"]]

        assert "imagebot-inventory-files-dev" in inventories()
        git("rm", "-q", "envs/dev.yaml", cwd=fleet.repo, env=fleet.env)
        git("commit", "-q", "-m", "drop dev", cwd=fleet.repo, env=fleet.env)
        assert service.regenerate("appset:argocd/files", forced=True) == "ok"
        assert service.unit("app:argocd/files-dev") is None
        assert "app:argocd/files-dev" not in service.scheduled()
        assert value(emulator, "files-dev") == "prod"  # the objects stay
        assert "imagebot-inventory-files-dev" not in inventories()  # only the inventory went
        assert stored(service, "argocd/files-dev") == (None, ())
    finally:
        service.stop(0)
