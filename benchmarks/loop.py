"""Benchmark the whole loop: a tag pushed to the registry → the dev Application Healthy at that tag.

On this machine: a local ``docker-registry``, a git remote (file://, pushed through receive-pack),
the real kube-apiserver 1.20 with kube-controller-manager and the test kubelet (``scripts/kube-up``;
build it once with ``scripts/kube-build``), and ``imagebot serve``'s service in this process (its
scheduler, its webhook server with a ``generic-hmac`` Receiver, its sync loop). N times: push a
new tag, POST the signed webhook, and wait until the loop records the dev Application Synced and
Healthy at the commit that carries the tag. Each push is split into consecutive stages, measured
from the service's own notifications (a listener) and the time of its git push:

  scan    webhook → the automation job starts (debounce, tags list)
  commit  → the push starts (fetch, policy, setters, commit)
  push    → the remote holds the commit
  sync    → the loop's sync of the dev Application at that commit has finished
  health  → the loop records it Healthy there (the rollout: two Pods marked ready)

Prints median and p95 of the totals and each stage's median share, with the load average.
Usage: .venv/bin/python benchmarks/loop.py [--pushes 10]. Target: median under 5 s.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import hmac
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `testing` importable
    sys.path.insert(0, str(ROOT))

from imagebot import config, git, schedule, sync  # noqa: E402
from imagebot.model.cluster import AppState, SyncRecord  # noqa: E402
from imagebot.model.ids import ObjectKey  # noqa: E402
from testing.gitopsloop import files, policies  # noqa: E402
from testing.gitrepos import git as git_cli  # noqa: E402
from testing.gitrepos import git_env, make_bare  # noqa: E402
from testing.registry import RegistryServer  # noqa: E402

TOKEN = "bench-loop-token"
STAGES = ("scan", "commit", "push", "sync", "health")


class Timeline(schedule.Listener):
    """The service's notifications, with the wall time each arrived."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.automations: list[tuple[float, float, str | None]] = []  # (start, end, commit sha)
        self.syncs: dict[str, float] = {}  # revision → when its sync finished
        self.healthy: dict[str, float] = {}  # revision → first check Synced and Healthy there
        self.pushes: list[tuple[float, float, str]] = []  # (start, end, sha)
        self.checks: list[str] = []  # every check, for a report when something times out

    def automation_ran(self, automation: ObjectKey, report: Any, error: BaseException | None,
                       seconds: float) -> None:
        now = time.time()
        revision = None
        if report is not None and report.automations and report.automations[0].revision is not None:
            revision = report.automations[0].revision.sha
        with self.lock:
            self.automations.append((now - seconds, now, revision))
            self.lock.notify_all()

    def app_checked(self, state: AppState, record: SyncRecord | None, previous_health: str | None) -> None:
        now = time.time()
        with self.lock:
            self.checks.append(f"{now:.2f} {state.unit} {state.revision[:12]} {state.sync} {state.health} "
                               f"record={record.revision[:12] + ' ' + record.result if record else None}")
            if record is not None and record.result == "Succeeded":
                self.syncs.setdefault(record.revision, record.finished_at.timestamp())
            if state.sync == "Synced" and state.health == "Healthy":
                self.healthy.setdefault(state.revision, now)
            self.lock.notify_all()

    def wait(self, predicate: Any, timeout: float, what: str) -> None:
        with self.lock:
            if not self.lock.wait_for(predicate, timeout):
                shown = "\n".join(self.checks[-15:])
                raise SystemExit(f"timed out waiting for {what}; the last checks:\n{shown}")


@contextlib.contextmanager
def timed_pushes(timeline: Timeline) -> Iterator[None]:
    """Record when each git push starts and ends (the benchmark's only hook into imagebot)."""
    original = git.Workspace.push

    def push(self: git.Workspace, *args: Any, **kwargs: Any) -> Any:
        started = time.time()
        revision = original(self, *args, **kwargs)
        with timeline.lock:
            timeline.pushes.append((started, time.time(), revision.sha))
        return revision

    git.Workspace.push = push  # type: ignore[method-assign]
    try:
        yield
    finally:
        git.Workspace.push = original  # type: ignore[method-assign]


@contextlib.contextmanager
def cluster(work: Path) -> Iterator[Path]:
    env = {**os.environ, "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))}
    command = [str(ROOT / "scripts/kube-up"), str(work / "kube"), "--watch-pid", str(os.getpid())]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"scripts/kube-up failed (build the apiserver with scripts/kube-build first):\n"
                         f"{done.stderr}")
    try:
        yield work / "kube" / "kubeconfig"
    finally:
        subprocess.run([str(ROOT / "scripts/kube-down"), str(work / "kube")], check=False, env=env)


def measure(pushes: int, work: Path) -> list[dict[str, float]]:
    env = git_env(work / "home")
    suffix = uuid.uuid4().hex[:6]
    with RegistryServer(work / "registry", "anonymous", storage="inmemory") as registry, \
            cluster(work) as kubeconfig:
        name = "bench/web"
        registry.push_tags(name, ["1.0.0"])
        image = f"{registry.host}/{name}"
        bare = make_bare(work / "gitops.git", files(image, ["dev"]), env=env)
        (work / "policies").mkdir()
        (work / "policies" / "all.yaml").write_text(
            policies(image, f"file://{bare}", suffix=suffix, envs=["dev"], hook_secret="hook"))
        (work / "secrets" / "hook").mkdir(parents=True)
        (work / "secrets" / "hook" / "token").write_text(TOKEN)
        timeline = Timeline()
        settings = schedule.ServeSettings(
            config_path=work / "policies", secrets_dir=work / "secrets", state_path=work / "state.db",
            workdir=work / "clones", watch=0, kubeconfig=kubeconfig, sync_options=sync.SyncOptions(),
        )
        service = schedule.Service(settings, listeners=[timeline])
        with timed_pushes(timeline):
            service.start()
            server = schedule.HTTPServer(("127.0.0.1", 0), service=service, metrics=schedule.Metrics(),
                                         secrets=config.SecretStore(work / "secrets")).start()
            try:
                url = f"http://127.0.0.1:{server.port}{next(iter(server.paths().values()))}"
                head = git_cli("rev-parse", "main", cwd=bare, env=env).strip()
                timeline.wait(lambda: head in timeline.healthy, 180, "the first sync")
                return [_one(registry, name, image, url=url, bare=bare, env=env, timeline=timeline, n=n)
                        for n in range(1, pushes + 1)]
            finally:
                server.stop()
                service.stop(10)


def _one(registry: RegistryServer, name: str, image: str, *, url: str, bare: Path, env: dict[str, str],
         timeline: Timeline, n: int) -> dict[str, float]:
    tag = f"1.0.{n}"
    registry.push_tags(name, [tag])
    runs = len(timeline.automations)
    body = json.dumps({"image": image, "tag": tag, "timestamp": time.time()}).encode()
    signature = "sha256=" + hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    started = time.time()
    answer = httpx.post(url, content=body, headers={"X-Signature": signature})
    assert answer.status_code == 202, answer.text
    timeline.wait(lambda: any(r for _, _, r in timeline.automations[runs:]), 60, f"the commit for {tag}")
    job_start, _, sha = next(a for a in timeline.automations[runs:] if a[2])
    assert sha is not None
    overlay = git_cli("show", f"{sha}:apps/web/overlays/dev/kustomization.yaml", cwd=bare, env=env)
    assert f"newTag: {tag}" in overlay
    timeline.wait(lambda: sha in timeline.healthy, 120, f"dev Healthy at {tag}")
    push_start, push_end, _ = next(p for p in timeline.pushes if p[2] == sha)
    synced, healthy = timeline.syncs[sha], timeline.healthy[sha]
    marks = [started, job_start, push_start, push_end, synced, healthy]
    stages = {stage: marks[i + 1] - marks[i] for i, stage in enumerate(STAGES)}
    return {"total": healthy - started, **stages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pushes", type=int, default=10)
    parser.add_argument("--log", default=os.devnull, help="write imagebot's log (INFO) to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(filename=args.log, level=logging.INFO,
                        format="%(asctime)s %(threadName)s %(name)s %(message)s")
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="imagebot-bench-loop-") as tmp:
        results = measure(args.pushes, Path(tmp))
    after = os.getloadavg()
    totals = sorted(r["total"] for r in results)
    p95 = totals[min(len(totals) - 1, round(0.95 * (len(totals) - 1)))]
    print(f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.2f} at the start, {after[0]:.2f} at the end")
    print(f"tag pushed (webhook) -> dev Application Healthy at that tag, {len(results)} pushes")
    print(f"| median | p95 | min | max |\n| --- | --- | --- | --- |\n| {statistics.median(totals):.2f} s | "
          f"{p95:.2f} s | {totals[0]:.2f} s | {totals[-1]:.2f} s |")
    print("\n| stage | median | share of the median total |\n| --- | --- | --- |")
    median_total = statistics.median(totals)
    for stage in STAGES:
        value = statistics.median(r[stage] for r in results)
        print(f"| {stage} | {value:.2f} s | {100 * value / median_total:.0f} % |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
