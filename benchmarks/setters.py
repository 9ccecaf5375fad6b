"""Benchmark the setters stage on a 10,000-manifest tree (1,000 of them marked).

Compares ``setters.apply`` over the whole tree (walk, prefilter, parse the marked files, splice,
atomic writes) with the naive approach of round-tripping the same 1,000 marked files through
ruamel.yaml (load + dump, no walking, no writing). Runs on one core (pinned where the OS allows).

    .venv/bin/python benchmarks/setters.py [--files 10000] [--marked 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

from imagebot import setters
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.images import ImageRef

MANIFEST = """\
---
# {name}: generated for the setters benchmark
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: team-{team}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/part-of: shop
  annotations:
    description: >
      A service of the benchmark tree; this folded text
      must survive untouched.
spec:
  replicas: 2
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
    spec:
      securityContext: {{runAsNonRoot: true, fsGroup: 2000}}
      containers:
        - name: app
          image: {image}
          ports:
            - containerPort: 8080
              name: http
          env:
            - name: LOG_LEVEL
              value: "info"
            - name: FEATURES
              value: "a,b,c"
          resources:
            requests: {{cpu: 10m, memory: 32Mi}}
            limits:
              memory: 128Mi
          readinessProbe:
            httpGet: {{path: /readyz, port: http}}
        - name: proxy
          image: {sidecar}
          args: ["--upstream", "http://127.0.0.1:8080"]
"""


def build_tree(root: Path, files: int, marked: int) -> tuple[list[Path], dict[ObjectKey, ImageRef]]:
    values: dict[ObjectKey, ImageRef] = {}
    marked_paths: list[Path] = []
    every = max(files // marked, 1)
    for i in range(files):
        name = f"svc-{i:05d}"
        directory = root / f"team-{i % 100:02d}"
        directory.mkdir(exist_ok=True)
        if i % every == 0 and len(marked_paths) < marked:
            key = ObjectKey("flux-system", name)
            values[key] = ImageRef(f"registry.example.com/shop/{name}", Tag("1.4.2"))
            image = f'registry.example.com/shop/{name}:1.3.0 # {{"$imagepolicy": "flux-system:{name}"}}'
            sidecar = f'"envoyproxy/envoy:v1.30" # {{"$imagepolicy": "flux-system:{name}:tag"}}'
            path = directory / f"{name}.yaml"
            marked_paths.append(path)
        else:
            image = f"registry.example.com/shop/{name}:1.3.0"
            sidecar = "envoyproxy/envoy:v1.30"
            path = directory / f"{name}.yaml"
        path.write_text(MANIFEST.format(name=name, team=i % 100, image=image, sidecar=sidecar))
    return marked_paths, values


def best_of(
    repeat: int, run: Callable[[], object], reset: Callable[[], None]
) -> list[tuple[float, float]]:
    """``(cpu seconds, wall seconds)`` of each run; CPU time is what one core spends, unaffected
    by other processes on a shared machine."""
    times = []
    for _ in range(repeat):
        reset()
        cpu, wall = time.process_time(), time.perf_counter()
        run()
        times.append((time.process_time() - cpu, time.perf_counter() - wall))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--marked", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    with tempfile.TemporaryDirectory(prefix="imagebot-bench-") as tmp:
        root = Path(tmp)
        marked, values = build_tree(root, args.files, args.marked)
        originals = {path: path.read_bytes() for path in marked}
        total_bytes = sum(p.stat().st_size for p in root.rglob("*.yaml"))

        def reset() -> None:
            for path, data in originals.items():
                path.write_bytes(data)

        def check_apply() -> None:
            changes = setters.apply(values, root=root)
            fields = sum(len(f.changes) for f in changes.files)
            if len(changes.files) != len(marked) or fields != 2 * len(marked):
                raise SystemExit(f"unexpected result: {len(changes.files)} files, {fields} fields")

        def round_trip() -> None:
            yaml = YAML()
            for path in marked:
                out = io.StringIO()
                yaml.dump_all(list(yaml.load_all(path.read_text())), out)

        results = {
            "setters.plan (dry run, whole tree)": best_of(
                args.repeat, lambda: setters.plan(values, root=root), reset
            ),
            "setters.apply (whole tree, writes)": best_of(args.repeat, check_apply, reset),
            "ruamel round-trip (marked files only)": best_of(args.repeat, round_trip, reset),
        }

    print(f"tree: {args.files} manifests ({total_bytes / 1e6:.1f} MB), {len(marked)} marked "
          f"(2 markers each); best of {args.repeat}, one core")
    print(f"{'run':<40} {'cpu s':>7} {'wall s':>7} {'median cpu':>11} {'cpu ms/marked':>14}")
    for label, times in results.items():
        cpu, wall = min(times)
        median = statistics.median(t[0] for t in times)
        print(f"{label:<40} {cpu:>7.3f} {wall:>7.3f} {median:>11.3f} "
              f"{1000 * cpu / len(marked):>14.3f}")
    apply_best = min(results["setters.apply (whole tree, writes)"])[0]
    baseline = min(results["ruamel round-trip (marked files only)"])[0]
    print(f"apply vs baseline: {baseline / apply_best:.1f}x less CPU; "
          f"target < 2 s: {'met' if apply_best < 2 else 'MISSED'} (load average "
          f"{os.getloadavg()[0]:.1f} while measuring)")


if __name__ == "__main__":
    main()
