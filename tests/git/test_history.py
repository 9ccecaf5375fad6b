"""History and reverts from objects (``Workspace.log``/``revert_files``/``deepen``), for
``imagebot rollback``.

Aspects: the first-parent log of a path, newest first, down to a revision (one not on the line is
an error); a revert restricted to a path that keeps a later human change to another line; a revert
that conflicts names the file; several commits reverted newest first; a shallow clone is deepened.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebot import errors
from imagebot.git import Workspace
from testing.gitrepos import git
from tests.git.conftest import RemoteFactory
from tests.git.helpers import AUTHOR, human_commit

WEB = "apps/web/deploy.yaml"


def commit(ws: Workspace, path: str, text: str, message: str) -> str:
    revision = ws.commit(message, files={path: text.encode()}, **AUTHOR)
    assert revision is not None
    return revision.sha


def test_log_lists_commits_touching_a_path_newest_first(tmp_path: Path, make_remote: RemoteFactory) -> None:
    remote = make_remote("file")
    with Workspace.clone(remote.url, workdir=tmp_path / "w") as ws:
        first = commit(ws, WEB, "image: web:1.1.0\n", "web 1.1.0")
        commit(ws, "apps/api/deploy.yaml", "image: api:2.0.0\n", "api 2.0.0")
        second = commit(ws, WEB, "image: web:1.2.0\n", "web 1.2.0")

        logged = ws.log(ws.head, path="apps/web")
        since = ws.log(ws.head, path="apps/web", stop=first)

        assert [c.sha for c in logged][:2] == [second, first]
        assert logged[0].title == "web 1.2.0" and logged[0].author_email == "bot@example.com"
        assert [c.sha for c in since] == [second]
        with pytest.raises(errors.GitError, match="not an ancestor"):
            ws.log(first, path="apps/web", stop=second)


def test_revert_keeps_later_changes_to_other_lines_and_stays_below_the_path(
    tmp_path: Path, make_remote: RemoteFactory,
) -> None:
    pad = "".join(f"line{i}: {i}\n" for i in range(5))
    remote = make_remote("file", files={WEB: f"image: web:1.0.0\n{pad}b: 1\n", "other.txt": "x\n"})
    with Workspace.clone(remote.url, workdir=tmp_path / "w") as ws:
        update = ws.commit("update", files={WEB: f"image: web:1.1.0\n{pad}b: 1\n".encode(), "other.txt": b"y\n"},
                           **AUTHOR)
        assert update is not None
        commit(ws, WEB, f"image: web:1.1.0\n{pad}b: 2\n", "human edits b")

        files = ws.revert_files([update.sha], onto=ws.head, path="apps")

        assert files == {WEB: f"image: web:1.0.0\n{pad}b: 2\n".encode()}  # other.txt is outside the path


def test_conflicting_revert_names_the_file(tmp_path: Path, make_remote: RemoteFactory) -> None:
    remote = make_remote("file", files={WEB: "image: web:1.0.0\n"})
    with Workspace.clone(remote.url, workdir=tmp_path / "w") as ws:
        update = commit(ws, WEB, "image: web:1.1.0\n", "update")
        commit(ws, WEB, "image: web:9.9.9\n", "human pins")

        with pytest.raises(errors.GitError, match=f"reverting {update[:12]} conflicts .* in {WEB}"):
            ws.revert_files([update], onto=ws.head, path="apps/web")


def test_several_commits_are_reverted_newest_first(tmp_path: Path, make_remote: RemoteFactory) -> None:
    remote = make_remote("file", files={WEB: "image: web:1.0.0\n"})
    with Workspace.clone(remote.url, workdir=tmp_path / "w") as ws:
        one = commit(ws, WEB, "image: web:1.1.0\n", "one")
        two = commit(ws, WEB, "image: web:1.2.0\n", "two")
        added = commit(ws, "apps/web/extra.yaml", "new: file\n", "adds a file")

        files = ws.revert_files([added, two, one], onto=ws.head, path="apps/web")

        assert files == {WEB: b"image: web:1.0.0\n", "apps/web/extra.yaml": None}


def test_a_shallow_clone_is_deepened(tmp_path: Path, make_remote: RemoteFactory, genv: dict[str, str]) -> None:
    remote = make_remote("file")
    human_commit(remote, tmp_path, genv, {"apps/web/deploy.yaml": "image: web:1.1.0\n"}, "second")
    checkout = tmp_path / "shallow"
    git("clone", "-q", "--depth", "1", remote.url, str(checkout), cwd=tmp_path, env=genv)
    ws = Workspace.open(checkout)
    assert ws.is_shallow

    sha = ws.deepen("main")

    assert sha is not None and not ws.is_shallow
    assert [c.title for c in ws.log(sha, path="")] == ["second", "initial"]
