"""Benchmark a full ``imagebot scan`` against a local registry, next to a no-logic floor.

Seeds a private ``docker-registry`` (anonymous, filesystem storage in a temp dir) with
N repositories x T tags, then times, each as a child process (wall time and peak RSS from
``wait4``):

  (a) ``imagebot scan --digests none --json``    the tag listings, imagebot's way
  (b) floor                                      the same N listings, bare httpx.AsyncClient loop
  (c) ``imagebot scan --digests new --json``     first scan on a fresh state: + N x T HEADs
  (d) floor for (c)                              (b) plus a HEAD of every tag, full Accept
  (e) ``imagebot plan``, cold                    a fresh state: one ImagePolicy per repository,
                                                 one automation over N marked files (a git
                                                 checkout, in place); default --digests selected
  (f) ``imagebot plan``, warm                    (e) again on the state a first plan left
  (g) ``imagebot plan --digests none``           (e) without the N digest look-ups, next to (a)

Python start-up and imports are part of every figure (a row shows ``imagebot --version``, and
one ``python -c pass``); imagebot is byte-compiled first, as an installed wheel is.

Usage: .venv/bin/python benchmarks/scan.py [--repos 200] [--tags 100] [--repeat 3] [--help]
Targets (issues 2 and 9): (a) within 1.5x of (b); a cold (e) within 3x of (b), no timeout; (a)
and (e) under 100 MB RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `testing` importable
    sys.path.insert(0, str(ROOT))


@dataclasses.dataclass
class Measurement:
    label: str
    walls: list[float] = dataclasses.field(default_factory=list)
    rss_kb: list[int] = dataclasses.field(default_factory=list)
    note: str = ""
    failed: str | None = None
    baseline: Measurement | None = None
    """The floor this row is compared with (None: the tag-listing floor)."""


def _default_concurrency() -> int:
    try:
        from imagebot.model.registries import RegistrySettings
    except ImportError:
        return 8
    return int(RegistrySettings().max_connections_per_registry)


# ru_maxrss of a forked child starts at its parent's RSS at fork time (Linux keeps the
# pre-exec high-water mark), so this big parent would inflate every figure. A tiny launcher
# (python -S, about 6 MB) forks the measured command and reports its wait4() usage instead.
_LAUNCHER = """\
import os, signal, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{time.perf_counter() - start} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status) & 255)
"""


def _run_child(argv: Sequence[str], env: dict[str, str], out: Path) -> tuple[int, float, int]:
    """Run ``argv`` with stdout to ``out``; (exit code, wall seconds, peak RSS in KiB)."""
    usage = out.with_suffix(".usage")
    with out.open("wb") as stdout, out.with_suffix(".err").open("wb") as stderr:
        launcher = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER, str(usage), *argv],
            stdout=stdout, stderr=stderr, env=env,
        )
        try:
            code = launcher.wait()
        except BaseException:  # Ctrl-C: the launcher passes SIGTERM on to the measured child
            launcher.terminate()
            launcher.wait()
            raise
    wall, rss = usage.read_text().split()
    return code, float(wall), int(rss)


def _first_line(path: Path) -> str:
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "(no output)"


# -- seeding ---------------------------------------------------------------------------------


def seed(url: str, repos: list[str], tags: list[str], workers: int) -> None:
    from testing.images import build_image
    from testing.pusher import Pusher

    images = {repo: build_image(labels={"repo": repo}) for repo in repos}
    with Pusher(url, max_connections=workers) as pusher, ThreadPoolExecutor(workers) as pool:

        def blobs(repo: str) -> None:
            for blob in images[repo].blobs:
                pusher.upload_blob(repo, blob)

        def manifest(item: tuple[str, str]) -> None:
            repo, tag = item
            pusher.put_manifest(repo, tag, images[repo].manifest)

        list(pool.map(blobs, repos))
        list(pool.map(manifest, [(r, t) for r in repos for t in tags], chunksize=64))


def write_config(directory: Path, host: str, repos: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    documents = [
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
        f"metadata: {{name: r{i:04d}, namespace: bench}}\n"
        f"spec: {{image: {host}/{repo}, interval: 5m, insecure: true}}\n"
        for i, repo in enumerate(repos)
    ]
    (directory / "repositories.yaml").write_text("---\n".join(documents))


def write_plan_bed(directory: Path, checkout: Path, host: str, repos: list[str], current: str) -> None:
    """For ``plan``: the ImageRepositories plus one ImagePolicy per repository, a GitRepository and
    one ImageUpdateAutomation, and a git checkout with one marked manifest per repository."""
    from testing.gitrepos import git, git_env, make_bare

    write_config(directory, host, repos)
    policies = [
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\n"
        f"metadata: {{name: p{i:04d}, namespace: bench}}\n"
        f"spec: {{imageRepositoryRef: {{name: r{i:04d}}}, policy: {{semver: {{range: '>=1.0.0'}}}}}}\n"
        for i in range(len(repos))
    ]
    automation = (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
        "metadata: {name: gitops, namespace: bench}\n"
        f"spec: {{url: 'file://{checkout.with_name('gitops.git')}', ref: {{branch: main}}}}\n"
        "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\n"
        "metadata: {name: apps, namespace: bench}\n"
        "spec:\n  sourceRef: {kind: GitRepository, name: gitops}\n"
        "  git: {commit: {author: {name: imagebot, email: bot@example.com}}, push: {branch: main}}\n"
        "  update: {path: ./apps, strategy: Setters}\n"
    )
    (directory / "policies.yaml").write_text("---\n".join([*policies, automation]))
    env = git_env(checkout.parent / "git-home")
    files: dict[str, str | bytes] = {
        f"apps/app{i:04d}.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  template:\n"
            "    spec:\n      containers:\n        - name: app\n"
            f"          image: {host}/{repo}:{current} # {{\"$imagepolicy\": \"bench:p{i:04d}\"}}\n"
        )
        for i, repo in enumerate(repos)
    }
    bare = make_bare(checkout.with_name("gitops.git"), files, env=env)
    git("clone", "-q", str(bare), str(checkout), cwd=checkout.parent, env=env)


# -- the floor (runs as a child process: `scan.py _floor URL REPOS_FILE CONCURRENCY`) ---------


_MANIFEST_ACCEPT = ", ".join((  # = testing.images.MANIFEST_ACCEPT (registry-protocol.md §9.2)
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))


async def _floor(url: str, repos: list[str], concurrency: int, *, heads: bool) -> int:
    import httpx  # only httpx: importing `testing` would weigh on the floor's RSS and start-up

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # the semaphore keeps httpx's pool queue empty: thousands of requests waiting inside the
    # pool make every connection release scan the whole queue (quadratic)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0) as client:

        async def head(repo: str, tag: str) -> str:
            async with gate:
                response = await client.head(
                    f"/v2/{repo}/manifests/{tag}", headers={"Accept": _MANIFEST_ACCEPT}
                )
            response.raise_for_status()
            return response.headers["Docker-Content-Digest"]

        async def one(repo: str) -> int:
            async with gate:
                response = await client.get(
                    f"/v2/{repo}/tags/list", headers={"Accept": "application/json"}
                )
            response.raise_for_status()
            tags = response.json()["tags"]
            if heads:
                return len(await asyncio.gather(*(head(repo, t) for t in tags)))
            return len(tags)

        counts = await asyncio.gather(*(one(r) for r in repos))
    return sum(counts)


def floor_main(argv: Sequence[str]) -> int:
    url, repos_file, concurrency, *flags = argv
    repos = json.loads(Path(repos_file).read_text())
    count = asyncio.run(_floor(url, repos, int(concurrency), heads="--heads" in flags))
    print(json.dumps({"count": count}))
    return 0


# -- checks of imagebot's answer -------------------------------------------------------------


def check_scan(out: Path, repos: int, tags: int, *, digests: bool) -> str | None:
    try:
        results = json.loads(out.read_text())
    except ValueError:
        return f"stdout is not JSON: {_first_line(out)}"
    if not isinstance(results, list) or len(results) != repos:
        return f"expected {repos} results, got {len(results) if isinstance(results, list) else '?'}"
    errors = [r for r in results if r.get("error")]
    if errors:
        return f"{len(errors)} repositories failed, e.g. {errors[0]['error']}"
    short = [r for r in results if len(r.get("tags") or []) != tags]
    if short:
        return f"{len(short)} repositories without {tags} tags"
    if digests and any(len(r.get("digests") or {}) != tags for r in results):
        return "not every tag has a digest"
    return None


def check_plan(out: Path, repos: int) -> str | None:
    text = out.read_text(errors="replace")
    want = f"would change {repos} field{'s' * (repos != 1)} in {repos} file{'s' * (repos != 1)}"
    return None if want in text else f"expected '{want}': {_first_line(out)}"


def measure_plan(
    host: str, repos: list[str], tags: list[str], *, env: dict[str, str], work: Path,
    args: argparse.Namespace,
) -> list[Measurement]:
    """(e) to (g): ``imagebot plan`` cold, warm, and without digests, on the plan bed."""
    bed, checkout = work / "plan-policies", work / "checkout"
    write_plan_bed(bed, checkout, host, repos, current=tags[0])
    plan = [sys.executable, "-m", "imagebot", "plan", "--config", str(bed), "--repo", str(checkout)]
    check = functools.partial(check_plan, repos=args.repos)
    print("(e) imagebot plan, cold ...", flush=True)
    cold = measure(
        "(e) imagebot plan, cold (fresh state)", lambda i: [*plan, "--state", str(work / f"e{i}.db")],
        env=env, work=work, repeat=args.repeat, check=check,
    )
    cold.note = f"{args.repos} policies and marked files; {args.repos} digest HEADs (the selected tags)"
    print("(f) imagebot plan, warm ...", flush=True)
    warm = work / "f.db"
    _run_child([*plan, "--state", str(warm)], env, work / "prime.out")  # the state a plan leaves
    again = measure("(f) imagebot plan, warm (state of a plan)", [*plan, "--state", str(warm)],
                    env=env, work=work, repeat=args.repeat, check=check)
    print("(g) imagebot plan --digests none ...", flush=True)
    bare = measure(
        "(g) imagebot plan --digests none, cold",
        lambda i: [*plan, "--digests", "none", "--state", str(work / f"g{i}.db")],
        env=env, work=work, repeat=args.repeat, check=check,
    )
    return [cold, again, bare]


# -- main ------------------------------------------------------------------------------------


def measure(
    label: str,
    argv: list[str] | Callable[[int], list[str]],
    *,
    env: dict[str, str],
    work: Path,
    repeat: int,
    check: Callable[[Path], str | None] | None = None,
) -> Measurement:
    """Run ``argv`` (or ``argv(i)``) ``repeat`` times; stop at the first failure."""
    result = Measurement(label)
    for i in range(repeat):
        out = work / f"run-{len(list(work.glob('run-*.out')))}.out"
        code, wall, rss = _run_child(argv(i) if callable(argv) else argv, env, out)
        problem = check(out) if check is not None and code == 0 else None
        if code != 0 or problem:
            result.failed = f"exit {code}: {problem or _first_line(out.with_suffix('.err'))}"
            return result
        result.walls.append(wall)
        result.rss_kb.append(rss)
    return result


def print_table(rows: list[Measurement], floor: Measurement, args: argparse.Namespace) -> None:
    print()
    print(
        f"imagebot scan benchmark: {args.repos} repositories x {args.tags} tags, "
        f"concurrency {args.concurrency}, {os.cpu_count()} CPUs, "
        f"median of {args.repeat} runs ({args.digest_repeat} for (c) and (d)); load average "
        f"{args.load_before} at the start, {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end"
    )
    header = f"{'run':<46} {'wall s (median)':>15} {'min..max':>15} {'peak RSS MB':>12} {'x floor':>8}"
    print(header)
    print("-" * len(header))
    for row in rows:
        if row.failed:
            print(f"{row.label:<46} not measured: {row.failed}")
            continue
        wall = statistics.median(row.walls)
        spread = f"{min(row.walls):.2f}..{max(row.walls):.2f}"
        rss = max(row.rss_kb) / 1024
        against = row.baseline or floor
        base = statistics.median(against.walls) if against.walls else None
        ratio = f"{wall / base:.2f}" if base and against is not row else "1.00" if base else "-"
        print(f"{row.label:<46} {wall:>15.2f} {spread:>15} {rss:>12.1f} {ratio:>8}")
        if row.note:
            print(f"{'':<46} {row.note}")
    print()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or '').splitlines()[0])
    parser.add_argument("--repos", type=int, default=200, help="repositories (default 200)")
    parser.add_argument("--tags", type=int, default=100, help="tags per repository (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument(
        "--concurrency", type=int, default=_default_concurrency(),
        help="connections of the floor loop; default: imagebot's per-registry limit",
    )
    parser.add_argument("--seed-workers", type=int, default=16, help="parallel seeding requests")
    parser.add_argument(
        "--digest-repeat", type=int, default=1, help="runs of (c) and (d) (default 1; slow)"
    )
    parser.add_argument("--skip-digests", action="store_true", help="skip (c) and (d), the N x T HEADs")
    parser.add_argument("--skip-plan", action="store_true", help="skip (e) to (g), imagebot plan")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (registry log)")
    return parser


def byte_compile() -> None:
    """Byte-compile imagebot's modules, as pip does when it installs the wheel. An editable checkout
    run with PYTHONDONTWRITEBYTECODE set (as on the machines of this project) would otherwise
    compile its ~120 modules from source in every measured process (0.15 s of each plan), which
    no installed imagebot does; httpx, the floor's one import, comes byte-compiled."""
    import compileall

    compileall.compile_dir(ROOT / "imagebot", quiet=1)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_floor"]:
        return floor_main(argv[1:])
    args = _parser().parse_args(argv)
    byte_compile()

    from testing.registry import RegistryServer

    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())

    work = Path(tempfile.mkdtemp(prefix="imagebot-bench-"))
    repos = [f"bench/app{i:04d}" for i in range(args.repos)]
    tags = [f"1.{i}.{i % 7}" for i in range(args.tags)]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["HOME"] = str(work / "home")  # no ~/.docker/config.json of this machine
    env.pop("DOCKER_CONFIG", None)
    try:
        with RegistryServer(work / "registry", "anonymous", storage="filesystem") as registry:
            start = time.perf_counter()
            seed(registry.url, repos, tags, args.seed_workers)
            seeded = time.perf_counter() - start
            print(
                f"seeded {len(repos)} x {len(tags)} = {len(repos) * len(tags)} tags "
                f"in {seeded:.1f} s at {registry.url}",
                flush=True,
            )
            config = work / "policies"
            write_config(config, registry.host, repos)
            (work / "repos.json").write_text(json.dumps(repos))
            imagebot = [sys.executable, "-m", "imagebot", "scan", "--config", str(config), "--json"]

            rows = [
                measure(f"startup: {' '.join(argv)}", [sys.executable, *argv], env=env, work=work,
                        repeat=args.repeat)
                for argv in (["-c", "pass"], ["-m", "imagebot", "--version"],
                             ["-m", "imagebot", "plan", "--help"])
            ]
            print("(a) imagebot scan --digests none ...", flush=True)
            rows.append(measure(
                "(a) imagebot scan --digests none",
                lambda i: [*imagebot, "--digests", "none", "--state", str(work / f"a{i}.db")],
                env=env, work=work, repeat=args.repeat,
                check=lambda out: check_scan(out, args.repos, args.tags, digests=False),
            ))
            print("(b) floor ...", flush=True)
            floor = measure(
                "(b) floor: bare httpx.AsyncClient loop",
                [sys.executable, str(Path(__file__).resolve()), "_floor", registry.url,
                 str(work / "repos.json"), str(args.concurrency)],
                env=env, work=work, repeat=args.repeat,
            )
            rows.append(floor)
            if not args.skip_plan:
                rows += measure_plan(registry.host, repos, tags, env=env, work=work, args=args)
            if not args.skip_digests:
                print("(c) imagebot scan --digests new (fresh state) ...", flush=True)
                heads = measure(
                    "(d) floor + HEAD of every tag",
                    [sys.executable, str(Path(__file__).resolve()), "_floor", registry.url,
                     str(work / "repos.json"), str(args.concurrency), "--heads"],
                    env=env, work=work, repeat=args.digest_repeat,
                )
                digests = measure(
                    "(c) imagebot scan --digests new, fresh",
                    lambda i: [*imagebot, "--digests", "new", "--state", str(work / f"c{i}.db")],
                    env=env, work=work, repeat=args.digest_repeat,
                    check=lambda out: check_scan(out, args.repos, args.tags, digests=True),
                )
                heads.baseline = digests.baseline = heads
                digests.note = f"{args.repos * args.tags} manifest HEADs; compared with (d)"
                rows += [digests, heads]
            print_table(rows, floor, args)
            failed = [r for r in rows if r.failed]
            return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
