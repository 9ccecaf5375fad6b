"""Soak ``imagebot serve``: many repositories whose tags keep changing, a remote another writer
also pushes to, for minutes; then check the remote's history against every tag pushed.

A local ``docker-registry`` holds ``--repos`` repositories (``soak/r000``…); ``imagebot serve`` (a
child process) watches them (one ImagePolicy each, semver ``>=1.0.0``, scan interval
``--interval``) through ``--automations`` ImageUpdateAutomations that share one smart-HTTP git
remote (``git http-backend``), each over its own directory of manifests. For ``--minutes``, a
pusher publishes a new patch tag to a random repository every ``--push-every`` seconds, and
another writer commits an unrelated file and pushes it every ``--writer-every`` seconds. Then
pushing stops, the service gets time to catch up (until the remote holds every repository's last
tag, at most ``--settle`` seconds), ``/metrics`` is read and the service is stopped.

Reported: tags pushed, the service's commits, push retries (lost races), failed jobs and error log
lines, the other writer's commits (all must survive), RSS sampled every ``--sample`` seconds
(target: flat) and its peak (VmHWM), and, from the remote's history: **lost updates** (a repository
whose file does not end at its last pushed tag), **duplicate commits** (a tag brought in twice, or a
commit of the service changing nothing) and **downgrades** (a field moved to a lower tag).

Usage: .venv/bin/python benchmarks/soak.py [--minutes 10] [--repos 500] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `testing` importable
    sys.path.insert(0, str(ROOT))

from testing import fluxyaml, processes  # noqa: E402
from testing.gitrepos import git, git_env, make_bare  # noqa: E402
from testing.gitserver import GitHttpServer  # noqa: E402
from testing.registry import RegistryServer, free_port  # noqa: E402

GIT_PASSWORD = "soak-Pw-1"
LINE = re.compile(r"^\+\s+image: \S+/soak/(r\d+):1\.0\.(\d+) #", re.M)
OLD = re.compile(r"^-\s+image: \S+/soak/(r\d+):1\.0\.(\d+) #", re.M)


def _config(directory: Path, *, registry: str, repos: int, automations: int, interval: str, url: str) -> None:
    directory.mkdir(parents=True)
    documents = [f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: gitops, namespace: soak}}
spec: {{url: '{url}', ref: {{branch: main}}, secretRef: {{name: git}}}}
"""]
    for group in range(automations):
        documents.append(f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: g{group:02d}, namespace: soak}}
spec:
  interval: 1h
  sourceRef: {{kind: GitRepository, name: gitops}}
  policySelector: {{matchLabels: {{group: g{group:02d}}}}}
  git:
    commit:
      author: {{name: imagebot, email: bot@example.com}}
      messageTemplate: 'imagebot g{group:02d}'
    push: {{branch: main}}
  update: {{path: ./apps/g{group:02d}, strategy: Setters}}
""")
    for n in range(repos):
        name = f"r{n:03d}"
        documents.append(f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: {name}, namespace: soak}}
spec: {{image: {registry}/soak/{name}, interval: {interval}, insecure: true}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: {name}, namespace: soak, labels: {{group: g{n % automations:02d}}}}}
spec:
  imageRepositoryRef: {{name: {name}}}
  policy: {{semver: {{range: '>=1.0.0'}}}}
""")
    (directory / "all.yaml").write_text("---\n".join(documents))


def _rss(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {k: float(re.search(rf"{k}:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
              for k in ("VmRSS", "VmHWM")}
    return values["VmRSS"], values["VmHWM"]


def _metric_sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Pusher(threading.Thread):
    """A new patch tag on a random repository every ``every`` seconds; remembers the last one."""

    def __init__(self, registry: RegistryServer, repos: int, every: float, stop: threading.Event) -> None:
        super().__init__(name="soak-pusher", daemon=True)
        self.registry, self.repos, self.every, self.stop = registry, repos, every, stop
        self.last: dict[str, int] = {f"r{n:03d}": 0 for n in range(repos)}
        self.pushed = 0
        self.errors: list[str] = []

    def run(self) -> None:
        rng = random.Random(15)
        while not self.stop.wait(self.every):
            name = f"r{rng.randrange(self.repos):03d}"
            patch = self.last[name] + 1
            try:
                self.registry.push_tags(f"soak/{name}", [f"1.0.{patch}"], workers=1)
            except Exception as exc:  # noqa: BLE001 - reported, the soak goes on
                self.errors.append(f"{name}: {exc}")
                continue
            self.last[name] = patch
            self.pushed += 1


class Writer(threading.Thread):
    """Another writer: commits ``notes/writer.txt`` and pushes, every ``every`` seconds."""

    def __init__(self, url: str, work: Path, env: dict[str, str], every: float,
                 stop: threading.Event) -> None:
        super().__init__(name="soak-writer", daemon=True)
        self.url, self.work, self.env, self.every, self.stop = url, work, env, every, stop
        self.commits: list[str] = []
        self.rejected = 0
        self.errors: list[str] = []

    def run(self) -> None:
        git("clone", "-q", self.url, str(self.work), cwd=self.work.parent, env=self.env)
        n = 0
        while not self.stop.wait(self.every):
            n += 1
            try:
                git("pull", "-q", "--rebase", "origin", "main", cwd=self.work, env=self.env)
                (self.work / "notes").mkdir(exist_ok=True)
                (self.work / "notes" / "writer.txt").write_text(f"note {n}\n")
                git("add", "notes", cwd=self.work, env=self.env)
                git("commit", "-q", "-m", f"writer {n}", cwd=self.work, env=self.env)
                for _ in range(10):
                    pushed = subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=self.work,
                                            env=self.env, capture_output=True, check=False)
                    if pushed.returncode == 0:
                        break
                    self.rejected += 1  # the service pushed first: rebase and try again
                    git("pull", "-q", "--rebase", "origin", "main", cwd=self.work, env=self.env)
                self.commits.append(git("rev-parse", "HEAD", cwd=self.work, env=self.env).strip())
            except RuntimeError as exc:
                self.errors.append(str(exc)[:300])


def _history(bare: Path, env: dict[str, str]) -> dict[str, Any]:
    """What each commit of the service on main brought in, oldest first."""
    introduced: dict[tuple[str, int], int] = {}
    empty = downgrades = commits = 0
    shas = git("rev-list", "--reverse", "--author=bot@example.com", "main", cwd=bare, env=env).split()
    for sha in shas:
        commits += 1
        shown = git("show", "--format=", "--unified=0", sha, cwd=bare, env=env)
        new = LINE.findall(shown)
        old = dict(OLD.findall(shown))
        if not new:
            empty += 1
        for name, patch in new:
            introduced[(name, int(patch))] = introduced.get((name, int(patch)), 0) + 1
            if name in old and int(old[name]) > int(patch):
                downgrades += 1
    return {"commits": commits, "empty": empty, "downgrades": downgrades,
            "duplicates": sum(c - 1 for c in introduced.values() if c > 1), "introduced": len(introduced)}


def _final_tags(bare: Path, env: dict[str, str]) -> dict[str, int]:
    found = {}
    listing = git("grep", "-h", "image:", "main", "--", "apps", cwd=bare, env=env)
    for match in re.finditer(r"/soak/(r\d+):1\.0\.(\d+) #", listing):
        found[match.group(1)] = int(match.group(2))
    return found


def _wait_started(process: subprocess.Popen[bytes], port: int, repos: int, log: Path) -> None:
    """Until every repository was scanned once (the soak measures the steady state, not start-up)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"imagebot serve exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        except httpx.HTTPError:
            text = ""
        if _metric_sum(text, "imagebot_scans_total") >= repos:
            return
        time.sleep(1)
    raise SystemExit("imagebot serve did not finish its start-up scans in 10 minutes")


def _seed(args: argparse.Namespace, root: Path, registry: RegistryServer, remote: GitHttpServer,
          env: dict[str, str]) -> Path:
    for n in range(args.repos):
        registry.push_tags(f"soak/r{n:03d}", ["1.0.0"], workers=1)
    files = {f"apps/g{n % args.automations:02d}/r{n:03d}.yaml":
             fluxyaml.marked_deployment(f"r{n:03d}", f"{registry.host}/soak/r{n:03d}", namespace="soak")
             for n in range(args.repos)}
    bare = make_bare(remote.root / "gitops.git", files | {"notes/writer.txt": "note 0\n"}, env=env)
    _config(root / "policies", registry=registry.host, repos=args.repos, automations=args.automations,
            interval=args.interval, url=remote.url("gitops.git"))
    (root / "secrets" / "git").mkdir(parents=True)
    (root / "secrets" / "git" / "username").write_text("bot")
    (root / "secrets" / "git" / "password").write_text(GIT_PASSWORD)
    return bare


def _serve(args: argparse.Namespace, root: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with (root / "serve.log").open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "imagebot", "--log-format", "json", "serve",
             "--config", str(root / "policies"), "--secrets-dir", str(root / "secrets"),
             "--state", str(root / "state.db"), "--workdir", str(root / "clones"),
             "--listen", f"127.0.0.1:{port}", "--watch", "0", "--workers", str(args.workers)],
            env=env, stderr=stderr, stdout=subprocess.DEVNULL,
        )


def _alive(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        raise SystemExit(f"imagebot serve exited with {process.returncode}: {log.read_text()[-2000:]}")


def _drive(args: argparse.Namespace, process: subprocess.Popen[bytes], log: Path, *, pusher: Pusher,
           writer: Writer, stop: threading.Event, caught_up: Callable[[], bool],
           say: Callable[[str], None]) -> dict[str, Any]:
    """Push for ``--minutes`` while sampling RSS, then wait for the service to catch up."""
    samples: list[tuple[float, float]] = []
    load = [os.getloadavg()[0]]
    started = time.monotonic()
    pusher.start()
    writer.start()
    say(f"soaking for {args.minutes:g} min")
    while (left := args.minutes * 60 - (time.monotonic() - started)) > 0:
        _alive(process, log)
        samples.append((time.monotonic() - started, _rss(process.pid)[0]))
        time.sleep(min(args.sample, max(0.1, left)))
    stop.set()
    pusher.join(60)
    writer.join(120)
    load.append(os.getloadavg()[0])
    say("pushing stopped; letting the service catch up")
    settle_start = time.monotonic()
    while time.monotonic() - settle_start < args.settle and not caught_up():
        _alive(process, log)
        time.sleep(1)
    settled = time.monotonic() - settle_start
    rss, hwm = _rss(process.pid)
    samples.append((time.monotonic() - started, rss))
    return {"settled_after_s": round(settled, 1), "rss_mb": [(round(t), round(m, 1)) for t, m in samples],
            "max_rss_mb": round(hwm, 1), "load_average": [round(x, 2) for x in load]}


def soak(args: argparse.Namespace, root: Path, say: Callable[[str], None]) -> dict[str, Any]:
    env = {**os.environ, **git_env(root / "home")}
    with RegistryServer(root / "registry", "anonymous", storage="inmemory") as registry, \
            GitHttpServer(root / "srv", username="bot", password=GIT_PASSWORD) as remote:
        say(f"seeding {args.repos} repositories")
        bare = _seed(args, root, registry, remote, env)
        port = free_port()
        log = root / "serve.log"
        process = _serve(args, root, port, env)
        stop = threading.Event()
        pusher = Pusher(registry, args.repos, args.push_every, stop)
        writer = Writer(remote.url_with_credentials("gitops.git"), root / "writer", env, args.writer_every,
                        stop)

        def caught_up() -> bool:
            final = _final_tags(bare, env)
            return all(final.get(name) == last for name, last in pusher.last.items())

        try:
            say("waiting for the start-up scans")
            _wait_started(process, port, args.repos, log)
            measured = _drive(args, process, log, pusher=pusher, writer=writer, stop=stop,
                              caught_up=caught_up, say=say)
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
        finally:
            stop.set()
            processes.stop(process, timeout=60)
        history = _history(bare, env)
        final = _final_tags(bare, env)
        reachable = set(git("rev-list", "main", cwd=bare, env=env).split())
    errors = [line for line in log.read_text(errors="replace").splitlines() if '"level": "error"' in line]
    lost = sorted(name for name, last in pusher.last.items() if final.get(name) != last)
    return {
        "minutes": args.minutes, "repos": args.repos, "automations": args.automations,
        "tags_pushed": pusher.pushed, "push_errors": len(pusher.errors),
        "repos_changed": sum(1 for v in pusher.last.values() if v),
        "commits": history["commits"], "changes_committed": history["introduced"],
        "push_retries": _metric_sum(metrics, "imagebot_push_retries_total"),
        "scans_ok": _metric_sum(metrics, "imagebot_scans_total", outcome="ok"),
        "scans_failed": _metric_sum(metrics, "imagebot_scans_total", outcome="failed"),
        "runs_failed": _metric_sum(metrics, "imagebot_automation_runs_total", outcome="failed"),
        "jobs_failed": _metric_sum(metrics, "imagebot_jobs_total", outcome="failed"),
        "error_log_lines": len(errors), "first_errors": errors[:3],
        "writer_commits": len(writer.commits), "writer_rejections": writer.rejected,
        "writer_errors": len(writer.errors),
        "writer_commits_lost": sum(1 for sha in writer.commits if sha not in reachable),
        "lost_updates": len(lost), "lost": lost[:10],
        "duplicate_commits": history["duplicates"] + history["empty"], "downgrades": history["downgrades"],
        **measured,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repos", type=int, default=500)
    parser.add_argument("--automations", type=int, default=10)
    parser.add_argument("--interval", default="30s", help="ImageRepository scan interval (default 30s)")
    parser.add_argument("--push-every", type=float, default=0.5, help="seconds between tag pushes")
    parser.add_argument("--writer-every", type=float, default=5.0,
                        help="seconds between the other writer's pushes")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sample", type=float, default=15.0, help="seconds between RSS samples")
    parser.add_argument("--settle", type=float, default=180.0,
                        help="longest wait for the service to catch up")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    def say(text: str) -> None:
        print(f"[soak] {text}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="imagebot-soak-") as tmp:
        report = soak(args, Path(tmp), say)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        rss = [m for _, m in report["rss_mb"]]
        print(f"imagebot serve, {report['minutes']:g} min, {report['repos']} repositories, "
              f"{report['automations']} automations (load average {report['load_average'][0]} -> "
              f"{report['load_average'][1]})")
        for key in ("tags_pushed", "repos_changed", "commits", "changes_committed", "push_retries",
                    "scans_ok", "scans_failed", "runs_failed", "jobs_failed", "error_log_lines",
                    "writer_commits", "writer_rejections", "writer_commits_lost", "lost_updates",
                    "duplicate_commits", "downgrades", "settled_after_s", "max_rss_mb"):
            print(f"  {key:22} {report[key]}")
        print(f"  RSS over time (MB)     first {rss[0]}, min {min(rss)}, max {max(rss)}, last {rss[-1]}")
        print("  samples (s, MB)        " + " ".join(f"{t}:{m}" for t, m in report["rss_mb"]))
        for line in report["first_errors"]:
            print(f"  error: {line[:300]}")
    ok = not (report["lost_updates"] or report["duplicate_commits"] or report["writer_commits_lost"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
