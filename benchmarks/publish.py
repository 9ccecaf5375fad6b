"""Benchmark the publish path: commit 50 changed files in a 10,000-file repo, push over smart HTTP.

Builds a bare repository of F files (YAML, D per directory) served by :class:`GitHttpServer`
(``git http-backend``, Basic auth, in this process), then times, for imagebot's
:class:`~imagebot.git.Workspace` and for the ``git`` CLI doing the same work:

  clone     shallow (depth 1) clone + checkout              reported separately
  commit    commit the N edited files                      (``files={path: bytes}`` / ``git add <paths>``)
  commit-all  the same, the CLI finding the changes by status (imagebot never stages a work tree:
            the same blob commit again / ``git add -A``)
  push      push the new commit to the branch

Each round edits the same N files to a new image tag in both clones (the edit itself is not
timed). Two identical remotes keep the two sides from racing each other. Figures are medians.
The CLI runs as child processes (its start-up counts); imagebot runs in this process.

Usage: .venv/bin/python benchmarks/publish.py [--files 10000] [--changed 50] [--rounds 5]
The issue's target: imagebot not slower than the git CLI.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `testing` importable
    sys.path.insert(0, str(ROOT))

import pygit2  # noqa: E402
from pygit2.enums import ConfigLevel  # noqa: E402

from imagebot.git import Workspace  # noqa: E402
from imagebot.model.flux import GitRef  # noqa: E402
from imagebot.model.gitauth import BasicAuth  # noqa: E402
from testing.gitrepos import git, git_env, make_bare  # noqa: E402
from testing.gitserver import GitHttpServer  # noqa: E402

_TAG = re.compile(r":\d+\.\d+\.\d+ #")


def _files(count: int, per_dir: int) -> dict[str, str]:
    return {
        f"apps/team-{i // per_dir:03d}/svc-{i % per_dir:03d}.yaml": (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-{i}\nspec:\n  template:\n"
            f"    spec:\n      containers:\n        - name: app\n"
            f'          image: registry.local/svc-{i}:1.0.0 # {{"$imagepolicy": "ns:svc-{i}"}}\n'
        )
        for i in range(count)
    }


def _edit(root: Path, paths: list[str], version: str) -> None:
    for path in paths:
        file = root / path
        file.write_text(_TAG.sub(f":{version} #", file.read_text()))


class _Clock:
    """Collects step durations: ``with clock("push"): …``."""

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = {}
        self._step = ""
        self._start = 0.0

    def __call__(self, step: str) -> _Clock:
        self._step = step
        return self

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.steps.setdefault(self._step, []).append(time.perf_counter() - self._start)


def _round_bot(
    n: int, *, url: str, auth: BasicAuth, workdir: Path, changed: list[str], clock: _Clock
) -> None:
    with clock("clone"):
        ws = Workspace.clone(url, ref=GitRef(branch="main"), auth=auth, workdir=workdir)
    _edit(ws.path, changed, f"{n + 2}.0.0")
    with clock("commit"):
        ws.commit("bump", files={p: (ws.path / p).read_bytes() for p in changed},
                  author_name="bot", author_email="bot@example.com")
    _edit(ws.path, changed, f"{n + 2}.1.0")
    with clock("commit-all"):
        ws.commit("bump", files={p: (ws.path / p).read_bytes() for p in changed},
                  author_name="bot", author_email="bot@example.com")
    with clock("push"):
        ws.push()


def _round_cli(
    n: int, *, url: str, env: dict[str, str], workdir: Path, changed: list[str], clock: _Clock
) -> None:
    with clock("clone"):
        git("clone", "-q", "--depth", "1", "--branch", "main", url, str(workdir), cwd=workdir.parent, env=env)
    _edit(workdir, changed, f"{n + 2}.0.0")
    with clock("commit"):
        git("add", "--", *changed, cwd=workdir, env=env)
        git("commit", "-q", "-m", "bump", cwd=workdir, env=env)
    _edit(workdir, changed, f"{n + 2}.1.0")
    with clock("commit-all"):
        git("add", "-A", cwd=workdir, env=env)
        git("commit", "-q", "-m", "bump", cwd=workdir, env=env)
    with clock("push"):
        git("push", "-q", "origin", "HEAD:main", cwd=workdir, env=env)


def _commit_push(clock: _Clock) -> float:
    return statistics.median(c + p for c, p in zip(clock.steps["commit"], clock.steps["push"], strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-dir", type=int, default=100)
    args = parser.parse_args(argv)
    bot, cli = _Clock(), _Clock()

    with tempfile.TemporaryDirectory(prefix="imagebot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for level in (ConfigLevel.GLOBAL, ConfigLevel.XDG, ConfigLevel.SYSTEM):
            pygit2.settings.search_path[level] = str(tmp)  # the machine's git config stays out
        env = git_env(tmp / "home")
        files = _files(args.files, args.per_dir)
        changed = sorted(files)[:: max(1, args.files // args.changed)][: args.changed]
        with GitHttpServer(tmp / "srv") as server:
            started = time.perf_counter()
            for name in ("bot.git", "cli.git"):
                make_bare(server.root / name, files, env=env)
            print(f"seeded 2 x {args.files} files in {time.perf_counter() - started:.1f}s")
            auth = BasicAuth(server.username, server.password)
            for n in range(args.rounds):
                _round_bot(
                    n,
                    url=server.url("bot.git"),
                    auth=auth,
                    workdir=tmp / f"bot-{n}",
                    changed=changed,
                    clock=bot,
                )
                _round_cli(
                    n,
                    url=server.url_with_credentials("cli.git"),
                    env=env,
                    workdir=tmp / f"cli-{n}",
                    changed=changed,
                    clock=cli,
                )
            counts = {
                git("rev-list", "--count", "main", cwd=server.root / name, env=env).strip()
                for name in ("bot.git", "cli.git")
            }
            assert len(counts) == 1, f"the two remotes diverged: {counts}"

    steps = ("clone", "commit", "commit-all", "push")
    print(f"\n{args.files} files, {args.changed} changed, {args.rounds} rounds, smart HTTP; median ms (min)")
    print(f"{'':20}" + "".join(f"{s:>18}" for s in steps) + f"{'commit+push':>14}")
    for label, clock in (("imagebot (pygit2)", bot), ("git CLI", cli)):
        cells = "".join(
            f"{statistics.median(clock.steps[s]) * 1000:>10.1f} ({min(clock.steps[s]) * 1000:>5.0f})"
            for s in steps
        )
        print(f"{label:20}{cells}{_commit_push(clock) * 1000:>14.1f}")
    print(
        f"\ncommit+push: imagebot / git CLI = {_commit_push(bot) / _commit_push(cli):.2f}x (target: <= 1.0)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
