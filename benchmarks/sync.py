"""Benchmark the sync engine: 100 Applications x 5 objects, first sync and a no-change resync.

Seeds a manifests directory (per Application: a Deployment, a Service, two ConfigMaps and a
Secret, in its own namespace created by ``CreateNamespace=true``) and a ``policies/`` of
Applications, starts a control plane with ``scripts/kube-up`` (kube-apiserver 1.20, etcd,
kube-controller-manager, the test kubelet; ``--emulator`` uses the in-repo stdlib emulator
instead), then runs ``imagebot sync`` as a child process twice and reports wall time and the
child's peak RSS. The cluster is stopped with ``scripts/kube-down`` at the end.

Usage: .venv/bin/python benchmarks/sync.py [--apps 100] [--emulator] [--rounds 1]
Targets (the issue): first sync < 20 s, no-change resync < 5 s, RSS < 150 MB.
Anchor: Flux's published 100 Kustomizations in 28 s at 32 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `testing` importable
    sys.path.insert(0, str(ROOT))

from testing.kubeapi import KubeEmulator  # noqa: E402

_OBJECTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: "registry.local/app-{i}:1.0.0", ports: [{{containerPort: 8080}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{selector: {{app: web}}, ports: [{{port: 80, targetPort: 8080}}]}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings}}
data: {{level: info, app: "app-{i}"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: features}}
data: {{beta: "false"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: creds}}
stringData: {{token: "t-{i}"}}
"""

_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: app-{i:03d}, namespace: argocd}}
spec:
  source:
    repoURL: https://git.example/fleet
    path: apps/app-{i:03d}
  destination:
    server: https://kubernetes.default.svc
    namespace: bench-{i:03d}
  syncPolicy:
    automated: {{prune: true}}
    syncOptions: [CreateNamespace=true]
---
"""


def _seed(root: Path, apps: int) -> tuple[Path, Path]:
    repo, policies = root / "repo", root / "policies"
    policies.mkdir(parents=True)
    (policies / "apps.yaml").write_text("".join(_APP.format(i=i) for i in range(apps)))
    for i in range(apps):
        directory = repo / "apps" / f"app-{i:03d}"
        directory.mkdir(parents=True)
        (directory / "all.yaml").write_text(_OBJECTS.format(i=i))
    return repo, policies


def _sync(repo: Path, policies: Path, kubeconfig: Path, out: Path) -> tuple[float, float, float, str]:
    """One ``imagebot sync`` child process: wall time, its CPU time, peak RSS (MB), outcome counts."""
    command = [str(ROOT / ".venv/bin/imagebot"), "sync", "--config", str(policies), "--repo", str(repo),
               "--kubeconfig", str(kubeconfig), "--json"]
    started = time.perf_counter()
    with out.open("wb") as stdout:
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE)
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)  # reaped here, so the child's own rusage
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"imagebot sync failed ({process.returncode}): {errors.decode()[-2000:]}")
    report = json.loads(out.read_text())
    actions: dict[str, int] = {}
    for unit in report["units"]:
        for outcome in unit["outcomes"]:
            actions[outcome["action"]] = actions.get(outcome["action"], 0) + 1
    summary = ", ".join(f"{n} {a}" for a, n in sorted(actions.items()))
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, summary


def _cluster(state: Path, emulator: bool) -> tuple[Path, Callable[[], None]]:
    if emulator:
        api = KubeEmulator(state)
        api.start()
        return api.kubeconfig, api.stop
    env = {**os.environ}
    done = subprocess.run([str(ROOT / "scripts/kube-up"), str(state)], capture_output=True, text=True,
                          check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"scripts/kube-up failed: {done.stderr[-2000:]}")
    kubeconfig = Path(done.stdout.strip().splitlines()[-1])

    def stop() -> None:
        subprocess.run([str(ROOT / "scripts/kube-down"), str(state)], check=False, env=env)

    return kubeconfig, stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--emulator", action="store_true",
                        help="the in-repo emulator instead of a real kube-apiserver (scripts/kube-up)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imagebot-bench-sync-") as scratch:
        root = Path(scratch)
        repo, policies = _seed(root, args.apps)
        (root / "state").mkdir()
        kubeconfig, stop = _cluster(root / "state", args.emulator)
        try:
            server = "stdlib emulator" if args.emulator else "kube-apiserver 1.20 (scripts/kube-up)"
            print(f"{args.apps} Applications x 5 objects against {server}; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            print("| run | wall | imagebot CPU | peak RSS | outcomes |")
            print("| --- | --- | --- | --- | --- |")
            for label in ("first sync", "no-change resync"):
                elapsed, cpu, rss, outcomes = _sync(repo, policies, kubeconfig, root / "out.json")
                print(f"| {label} | {elapsed:.2f} s | {cpu:.2f} s | {rss:.0f} MB | {outcomes} |", flush=True)
        finally:
            stop()


if __name__ == "__main__":
    main()
