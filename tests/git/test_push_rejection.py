"""Push refusals become classified imagebot errors: client-side non-fast-forward and server-side
answers (``push_update_reference``) alike; push options reach the server's hooks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebot import errors
from imagebot.git import Workspace
from testing.gitrepos import git, write_files
from tests.git.conftest import Remote, RemoteFactory
from tests.git.helpers import AUTHOR, human_commit, worktree_files, write_hook


def test_remote_moved_on_is_push_rejected(remote: Remote, tmp_path: Path, genv: dict[str, str]) -> None:
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    human_commit(remote, tmp_path, genv, {"README.md": "human\n"}, "human")
    write_files(ws.path, {"apps/web/deploy.yaml": "image: web:2.0.0\n"})
    ws.commit("bump", files=worktree_files(ws), **AUTHOR)

    with pytest.raises(errors.PushRejected) as caught:
        ws.push()

    assert isinstance(caught.value, errors.TemporaryError)
    assert remote.auth is None or remote.auth.password not in str(caught.value)  # type: ignore[union-attr]
    assert git("log", "-1", "--format=%s", "main", cwd=remote.bare, env=genv).strip() == "human"


def test_local_push_respects_the_remote_ref_lock(
    make_remote: RemoteFactory, tmp_path: Path, genv: dict[str, str]
) -> None:
    # libgit2's local transport would overwrite the ref; ours takes git's <ref>.lock like receive-pack
    remote = make_remote("file")
    ws = Workspace.clone(remote.url, workdir=tmp_path / "w")
    write_files(ws.path, {"README.md": "x\n"})
    ws.commit("bump", files=worktree_files(ws), **AUTHOR)
    lock = remote.bare / "refs" / "heads" / "main.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("held by another pusher\n")

    with pytest.raises(errors.PushRejected):
        ws.push()

    lock.unlink()
    assert ws.push().sha == ws.head
    refs = git("for-each-ref", "--format=%(refname)", cwd=remote.bare, env=genv).split()
    assert refs == ["refs/heads/main"], "scratch refs are cleaned up"


def test_hook_refusal_is_a_permanent_git_error(remote: Remote, tmp_path: Path, genv: dict[str, str]) -> None:
    # a local remote (file://) too: the push goes through git receive-pack, which runs the hooks
    before = git("rev-parse", "main", cwd=remote.bare, env=genv)
    write_hook(remote.bare, "pre-receive", "echo 'protected branch' >&2\nexit 1\n")
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    write_files(ws.path, {"README.md": "x\n"})
    ws.commit("bump", files=worktree_files(ws), **AUTHOR)

    with pytest.raises(errors.GitError, match="refused refs/heads/main: pre-receive hook declined") as caught:
        ws.push()

    assert not isinstance(caught.value, errors.TemporaryError)
    assert "(the remote said: protected branch)" in str(caught.value)  # the hook's reason
    assert git("rev-parse", "main", cwd=remote.bare, env=genv) == before


def test_update_hook_refusal_is_honoured(remote: Remote, tmp_path: Path, genv: dict[str, str]) -> None:
    before = git("rev-parse", "main", cwd=remote.bare, env=genv)
    write_hook(remote.bare, "update", "exit 1\n")
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    write_files(ws.path, {"README.md": "x\n"})
    ws.commit("bump", files=worktree_files(ws), **AUTHOR)

    with pytest.raises(errors.GitError, match="refused refs/heads/main: hook declined"):
        ws.push()

    assert git("rev-parse", "main", cwd=remote.bare, env=genv) == before


@pytest.mark.integration
def test_server_side_non_fast_forward_is_push_rejected(
    make_remote: RemoteFactory, tmp_path: Path, genv: dict[str, str]
) -> None:
    remote = make_remote("http")
    git("config", "receive.denyNonFastForwards", "true", cwd=remote.bare, env=genv)
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    moved = human_commit(remote, tmp_path, genv, {"README.md": "human\n"}, "human")
    write_files(ws.path, {"README.md": "bot\n"})
    ws.commit("bump", files=worktree_files(ws), **AUTHOR)

    # a lease that matches lets the client send a forced update; the server still says no
    with pytest.raises(errors.PushRejected, match="non-fast-forward"):
        ws.push(force_with_lease=moved)


@pytest.mark.integration
def test_push_options_reach_the_server(make_remote: RemoteFactory, tmp_path: Path) -> None:
    remote = make_remote("http")
    seen = tmp_path / "options.txt"
    write_hook(
        remote.bare,
        "pre-receive",
        f'cat >/dev/null\necho "$GIT_PUSH_OPTION_COUNT $GIT_PUSH_OPTION_0 $GIT_PUSH_OPTION_1" > {seen}\n',
    )
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    write_files(ws.path, {"README.md": "x\n"})
    ws.commit("bump", files=worktree_files(ws), **AUTHOR)

    ws.push(options={"merge_request.create": "", "ci.skip": "true"})

    assert seen.read_text().split() == ["2", "merge_request.create", "ci.skip=true"]


@pytest.fixture
def no_git_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no ``git`` executable exists (imagebot's container image)."""
    empty = tmp_path / "no-git-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_without_the_git_cli_a_remote_with_hooks_is_refused(
    make_remote: RemoteFactory, tmp_path: Path, genv: dict[str, str], no_git_cli: None
) -> None:
    remote = make_remote("file")
    before = git("rev-parse", "main", cwd=remote.bare, env=genv | {"PATH": "/usr/bin:/bin"})
    write_hook(remote.bare, "pre-receive", "exit 1\n")
    ws = Workspace.clone(remote.url, workdir=tmp_path / "w")
    ws.commit("bump", files={"README.md": b"x\n"}, **AUTHOR)

    with pytest.raises(errors.GitError, match=r"pre-receive hook.*refusing to push around them"):
        ws.push()

    assert git("rev-parse", "main", cwd=remote.bare, env=genv | {"PATH": "/usr/bin:/bin"}) == before


def test_without_the_git_cli_a_remote_without_hooks_is_pushed_to_under_its_ref_lock(
    make_remote: RemoteFactory, tmp_path: Path, genv: dict[str, str], no_git_cli: None
) -> None:
    remote = make_remote("file")
    for sample in (remote.bare / "hooks").glob("*"):
        sample.unlink()
    ws = Workspace.clone(remote.url, workdir=tmp_path / "w")
    made = ws.commit("bump", files={"README.md": b"x\n"}, **AUTHOR)
    assert made is not None
    lock = remote.bare / "refs" / "heads" / "main.lock"
    lock.write_text("held by another pusher\n")

    with pytest.raises(errors.PushRejected):
        ws.push()

    lock.unlink()
    assert ws.push().sha == made.sha
    assert git("rev-parse", "main", cwd=remote.bare, env=genv | {"PATH": "/usr/bin:/bin"}).strip() == made.sha
