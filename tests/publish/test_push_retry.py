"""push_with_retry: fetch, rebuild the commit on the new head and push again — never losing a commit.

Aspects: one lost race is retried on top of the winner; a change someone else already made
ends the run without a commit; nothing to commit means no push; the budget is bounded (and the
backoff goes through an injected ``sleep``); and a real race — two bots in threads plus a human
with the git CLI pushing to one branch at once — keeps all three commits.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import errors
from imagebot.backoff import Backoff
from imagebot.git import Workspace
from imagebot.model.revisions import Revision
from imagebot.publish import push_with_retry
from testing.gitrepos import git, write_files
from tests.git.conftest import Remote
from tests.git.helpers import AUTHOR, human_commit, remote_subjects


def builder(
    ws: Workspace, message: str, path: str, image: str, *, before: Callable[[], None] | None = None
) -> Callable[[str], Revision | None]:
    """A one-line setter as ``build`` callback: on commit ``sha``, point ``image:`` in ``path`` at
    ``image`` and commit exactly that file on top of ``sha``."""

    def build(sha: str) -> Revision | None:
        if before is not None:
            before()
        with ws.files_at(sha) as root:
            old = (root / path).read_text()
        new = re.sub(r"image: \S+", f"image: {image}", old, count=1)
        return ws.commit(message, files={path: new.encode()}, parent=sha, **AUTHOR)

    return build


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


WEB = "apps/web/deploy.yaml"
API = "apps/api/deploy.yaml"


def test_lost_race_is_redone_on_top_of_the_winner(
    remote: Remote, tmp_path: Path, genv: dict[str, str]
) -> None:
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    base = ws.head
    human_commit(remote, tmp_path, genv, {"README.md": "edited by a human\n"}, "human")
    sleeps = Sleeps()

    revision = push_with_retry(
        ws,
        build=builder(ws, "bump web", WEB, "web:2.0.0"),
        base=base,
        branch="main",
        retry=Backoff(base=0.5, jitter=False),
        sleep=sleeps,
    )

    assert revision is not None and revision.branch == "main"
    assert remote_subjects(remote.bare, genv) == ["bump web", "human", "initial"]
    assert sleeps == [0.5]
    assert git("show", f"main:{WEB}", cwd=remote.bare, env=genv).startswith("image: web:2.0.0")


def test_change_already_on_the_remote_ends_without_a_commit(
    remote: Remote, tmp_path: Path, genv: dict[str, str]
) -> None:
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    base = ws.head
    human = human_commit(remote, tmp_path, genv, {WEB: "image: web:2.0.0 # set by hand\n"}, "human did it")

    revision = push_with_retry(
        ws, build=builder(ws, "bump", WEB, "web:2.0.0"), base=base, branch="main", sleep=Sleeps()
    )

    assert revision is None
    assert git("rev-parse", "main", cwd=remote.bare, env=genv).strip() == human


def test_nothing_to_commit_pushes_nothing(remote: Remote, tmp_path: Path, genv: dict[str, str]) -> None:
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    calls: list[str] = []

    build = builder(ws, "noop", WEB, "web:1.0.0", before=lambda: calls.append("build"))
    assert push_with_retry(ws, build=build, base=ws.head, branch="main", sleep=Sleeps()) is None
    assert calls == ["build"]
    assert remote_subjects(remote.bare, genv) == ["initial"]


def test_retries_are_bounded(remote: Remote, tmp_path: Path, genv: dict[str, str]) -> None:
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    human = tmp_path / "human"
    git("clone", "-q", remote.cli_url, str(human), cwd=tmp_path, env=genv)
    rounds = iter(range(100))

    def human_pushes() -> None:  # somebody always gets in first
        write_files(human, {"README.md": f"round {next(rounds)}\n"})
        git("commit", "-qam", "human", cwd=human, env=genv)
        git("push", "-q", "origin", "HEAD", cwd=human, env=genv)

    sleeps = Sleeps()
    with pytest.raises(errors.PushRejected):
        push_with_retry(
            ws, build=builder(ws, "bump", WEB, "web:2.0.0", before=human_pushes), base=ws.head, branch="main",
            attempts=3, retry=Backoff(base=1, jitter=False), sleep=sleeps,
        )
    assert sleeps == [1, 2]
    assert "bump" not in remote_subjects(remote.bare, genv)


def test_attempts_must_be_positive(remote: Remote, tmp_path: Path) -> None:
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    with pytest.raises(ValueError, match="attempts"):
        push_with_retry(ws, build=builder(ws, "x", WEB, "web:2.0.0"), base=ws.head, branch="main", attempts=0)


def test_two_bots_and_a_human_race_and_no_commit_is_lost(
    remote: Remote, tmp_path: Path, genv: dict[str, str]
) -> None:
    bots = {
        "bot-web": (Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "a"), WEB, "web:2.0.0"),
        "bot-api": (Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "b"), API, "api:2.0.0"),
    }
    human = tmp_path / "human"
    git("clone", "-q", remote.cli_url, str(human), cwd=tmp_path, env=genv)
    start = threading.Barrier(3)
    results: dict[str, object] = {}

    def bot(name: str) -> None:
        ws, path, image = bots[name]
        try:
            base = ws.head
            start.wait()
            results[name] = push_with_retry(
                ws,
                build=builder(ws, f"{name}: {image}", path, image),
                base=base,
                branch="main",
                attempts=6,
                sleep=Sleeps(),
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    def person() -> None:
        try:
            write_files(human, {"README.md": "written by a human\n"})
            git("commit", "-qam", "human: readme", cwd=human, env=genv)
            start.wait()
            for _ in range(6):  # what a human does on "fetch first": pull --rebase, push again
                if git("push", "-q", "origin", "HEAD", cwd=human, env=genv, check=False) == "":
                    pushed = git("ls-remote", "origin", "main", cwd=human, env=genv).split()[0]
                    if pushed == git("rev-parse", "HEAD", cwd=human, env=genv).strip():
                        break
                git("pull", "-q", "--rebase", "origin", "main", cwd=human, env=genv)
            results["human"] = "pushed"
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results["human"] = exc

    threads = [threading.Thread(target=bot, args=(n,)) for n in bots] + [threading.Thread(target=person)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(isinstance(results.get(n), Revision) for n in bots), results
    assert results["human"] == "pushed", results
    subjects = remote_subjects(remote.bare, genv)
    assert sorted(subjects) == ["bot-api: api:2.0.0", "bot-web: web:2.0.0", "human: readme", "initial"]
    tree = {p: git("show", f"main:{p}", cwd=remote.bare, env=genv) for p in (WEB, API, "README.md")}
    assert tree[WEB].startswith("image: web:2.0.0")
    assert tree[API].startswith("image: api:2.0.0")
    assert tree["README.md"] == "written by a human\n"
