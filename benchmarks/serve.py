"""Benchmark ``imagebot serve``: webhook → commit latency, and an idle service's footprint.

(a) latency: a local ``docker-registry``, a smart-HTTP git remote (``testing.gitserver``), and
    ``imagebot serve`` as a child process with a ``generic-hmac`` Receiver. N times: push a new
    tag, POST a signed webhook, and time until the remote's ``main`` carries the commit for that
    tag (polled every 10 ms on the server's bare repository). Median and p95 of N.
(b) idle: ``imagebot serve`` with R ImageRepositories (interval 1h) on the same registry; after
    the start-up scans are recorded in the state store, RSS (VmRSS, VmHWM) and CPU time used
    over a quiet window, from /proc.

Usage: .venv/bin/python benchmarks/serve.py [--pushes 20] [--repos 200] [--idle 30]
The issue's targets: (a) median under 1 s; (b) RSS under 80 MB, CPU near zero between jobs.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `testing` importable
    sys.path.insert(0, str(ROOT))

from testing import fluxyaml, processes  # noqa: E402
from testing.gitrepos import git, git_env, make_bare  # noqa: E402
from testing.gitserver import GitHttpServer  # noqa: E402
from testing.registry import RegistryServer, free_port  # noqa: E402

TOKEN = "bench-hook-token"


def _policies(directory: Path, images: Sequence[tuple[str, str]], *, url: str | None, interval: str) -> None:
    directory.mkdir(parents=True)
    documents = [fluxyaml.image_policy(name, image, interval=interval, insecure=True, namespace="bench")
                 for name, image in images]
    if url is not None:
        documents.append(f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: gitops, namespace: bench}}
spec: {{url: '{url}', ref: {{branch: main}}, secretRef: {{name: git}}}}
---
""" + fluxyaml.automation("apps", interval="1h", namespace="bench") + """\
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: registry, namespace: bench}
spec:
  type: generic-hmac
  secretRef: {name: hook}
  resources: [{kind: ImageRepository, name: '*'}]
""")
    (directory / "all.yaml").write_text("---\n".join(documents))


def _serve(work: Path, config: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "imagebot", "-v", "--log-format", "text", "serve", "--config", str(config),
         "--secrets-dir", str(work / "secrets"), "--state", str(work / "state.db"),
         "--workdir", str(work / "clones"), "--listen", f"127.0.0.1:{port}", "--watch", "0"],
        env=env, stderr=open(work / "serve.log", "wb"),
    )


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


def _hook_path(log: Path) -> str:
    _wait(lambda: "POST /hook/" in log.read_text(errors="replace"), 60, "the service to start")
    match = re.search(r"POST (/hook/[0-9a-f]{64})", log.read_text(errors="replace"))
    assert match is not None
    return match.group(1)


def latency(registry: RegistryServer, work: Path, pushes: int) -> list[float]:
    env = {**os.environ, **git_env(work / "home")}
    name = "bench/app"
    registry.push_tags(name, ["1.0.0"])
    image = f"{registry.host}/{name}"
    with GitHttpServer(work / "srv", username="bot", password="bench-Pw-1") as remote:
        manifest = fluxyaml.marked_deployment("app", image, namespace="bench")
        bare = make_bare(remote.root / "gitops.git", {"apps/app.yaml": manifest}, env=env)
        _policies(work / "policies", [("app", image)], url=remote.url("gitops.git"), interval="1h")
        for secret, key, value in (("git", "username", "bot"), ("git", "password", "bench-Pw-1"),
                                   ("hook", "token", TOKEN)):
            (work / "secrets" / secret).mkdir(parents=True, exist_ok=True)
            (work / "secrets" / secret / key).write_text(value)
        port = free_port()
        process = _serve(work, work / "policies", port, env)
        try:
            url = f"http://127.0.0.1:{port}{_hook_path(work / 'serve.log')}"
            _wait(lambda: b"automation_status" in (work / "state.db").read_bytes()
                  and _automations_recorded(work / "state.db"), 60, "the first run")
            times = []
            for n in range(1, pushes + 1):
                tag = f"1.0.{n}"
                registry.push_tags(name, [tag])
                body = json.dumps({"image": image, "tag": tag, "timestamp": time.time()}).encode()
                signature = "sha256=" + hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
                started = time.perf_counter()
                answer = httpx.post(url, content=body, headers={"X-Signature": signature})
                assert answer.status_code == 202, answer.text
                _wait(lambda tag=tag: f":{tag} #" in git("show", "main:apps/app.yaml", cwd=bare, env=env),  # type: ignore[misc]
                      60, f"the commit for {tag}")
                times.append(time.perf_counter() - started)
            subjects = git("log", "--format=%H", "main", cwd=bare, env=env).splitlines()
            assert len(subjects) == pushes + 1, f"{len(subjects) - 1} commits for {pushes} pushes"
        finally:
            processes.stop(process, timeout=60)
    return times


def _automations_recorded(path: Path) -> bool:
    with sqlite3.connect(path) as db:
        return bool(db.execute("SELECT count(*) FROM automation_status").fetchone()[0])


def _proc(pid: int) -> tuple[float, int, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return cpu, rss, hwm


def idle(registry: RegistryServer, work: Path, repos: int, window: float) -> dict[str, float]:
    names = [f"idle/app-{i:03d}" for i in range(repos)]
    for name in names:
        registry.push_tags(name, ["1.0.0", "1.1.0", "2.0.0"], distinct=False)
    images = [(f"app-{i:03d}", f"{registry.host}/{name}") for i, name in enumerate(names)]
    _policies(work / "policies", images, url=None, interval="1h")
    (work / "secrets").mkdir()
    port = free_port()
    process = _serve(work, work / "policies", port, dict(os.environ))
    try:
        def scanned() -> bool:
            if not (work / "state.db").exists():
                return False
            with sqlite3.connect(work / "state.db") as db:
                try:
                    return db.execute("SELECT count(*) FROM repository_status").fetchone()[0] >= repos
                except sqlite3.OperationalError:
                    return False

        started = time.monotonic()
        _wait(scanned, 300, f"{repos} start-up scans")
        startup = time.monotonic() - started
        time.sleep(2)  # let the last job's thread finish
        cpu_before, _, _ = _proc(process.pid)
        time.sleep(window)
        cpu_after, rss, hwm = _proc(process.pid)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        processes.stop(process, timeout=60)
    pattern = r'^imagebot_scans_total\{outcome="ok",.*\} (\S+)$'
    scans = sum(float(v) for v in re.findall(pattern, metrics, re.M))
    return {"startup": startup, "cpu": cpu_after - cpu_before, "rss": rss / 1024, "hwm": hwm / 1024,
            "window": window, "scans": scans}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of the idle window")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="imagebot-bench-serve-") as tmp:
        root = Path(tmp)
        with RegistryServer(root / "registry", "anonymous") as registry:
            times = latency(registry, root / "latency", args.pushes)
            quiet = idle(registry, root / "idle", args.repos, args.idle)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(f"webhook -> commit on a smart-HTTP remote, {len(times)} pushes:")
    print(f"  median {statistics.median(times):.3f} s   p95 {p95:.3f} s   min {times[0]:.3f} s   "
          f"max {times[-1]:.3f} s")
    print(f"idle serve with {args.repos} ImageRepositories (start-up scans took {quiet['startup']:.1f} s, "
          f"{quiet['scans']:.0f} recorded):")
    print(f"  RSS {quiet['rss']:.1f} MB (peak {quiet['hwm']:.1f} MB)   CPU {quiet['cpu']:.2f} s over "
          f"{quiet['window']:.0f} s idle ({100 * quiet['cpu'] / quiet['window']:.2f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
