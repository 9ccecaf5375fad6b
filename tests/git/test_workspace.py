"""Workspace: clone/reuse/open, checkout of every GitRef kind, staging and commit, push targets.

Runs against bare repos over ``file://`` and (marked integration) smart HTTP; the git CLI plays
the human and checks the result on the remote.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pygit2
import pytest

from imagebot import errors
from imagebot.git import Workspace
from imagebot.model import gitauth
from imagebot.model.flux import GitRef
from testing.gitrepos import git, write_files
from tests.git.conftest import Remote, RemoteFactory
from tests.git.helpers import AUTHOR, human_commit, remote_subjects, worktree_files


def test_clone_checks_out_the_branch(
    remote: Remote, transport: str, tmp_path: Path, genv: dict[str, str]
) -> None:
    ws = Workspace.clone(remote.url, ref=GitRef(branch="main"), auth=remote.auth, workdir=tmp_path / "w")
    assert ws.branch == "main"
    assert ws.head == git("rev-parse", "main", cwd=remote.bare, env=genv).strip()
    assert (ws.path / "apps/web/deploy.yaml").read_text().startswith("image: web:1.0.0")
    assert ws.is_shallow is (transport != "file")  # libgit2's local transport cannot fetch shallow
    assert ws.url == remote.url


def test_empty_ref_means_the_remotes_default_branch(make_remote: RemoteFactory, tmp_path: Path) -> None:
    remote = make_remote("file")
    assert Workspace.clone(remote.url, workdir=tmp_path / "w").branch == "main"


def test_cached_clone_is_reused_and_reset(remote: Remote, tmp_path: Path, genv: dict[str, str]) -> None:
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    (ws.path / "README.md").write_text("local junk\n")
    new_head = human_commit(remote, tmp_path, genv, {"apps/api/deploy.yaml": "image: api:1.1.0\n"}, "human")

    again = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")

    assert again.head == new_head
    assert (again.path / "README.md").read_text() == "fleet\n"
    assert (again.path / "apps/api/deploy.yaml").read_text() == "image: api:1.1.0\n"


def test_workdir_holding_another_remote_is_refused(make_remote: RemoteFactory, tmp_path: Path) -> None:
    first, second = make_remote("file"), make_remote("file")
    Workspace.clone(first.url, workdir=tmp_path / "w")
    with pytest.raises(errors.ConfigError, match="holds a clone of"):
        Workspace.clone(second.url, workdir=tmp_path / "w")


def test_default_workdir_is_under_dot_imagebot(
    make_remote: RemoteFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = make_remote("file")
    monkeypatch.chdir(tmp_path)
    ws = Workspace.clone(remote.url)
    assert ws.path.resolve().is_relative_to((tmp_path / ".imagebot" / "git").resolve())


@pytest.fixture
def history(
    make_remote: RemoteFactory, tmp_path: Path, genv: dict[str, str]
) -> tuple[Remote, dict[str, str]]:
    """main: initial (v1.0.0) → second (v1.1.0, v2.0.0-rc.1); branch dev: dev work."""
    remote = make_remote("file", tags=("v1.0.0",))
    clone = tmp_path / "builder"
    git("clone", "-q", remote.cli_url, str(clone), cwd=tmp_path, env=genv)
    shas = {"initial": git("rev-parse", "HEAD", cwd=clone, env=genv).strip()}
    write_files(clone, {"README.md": "second\n"})
    git("commit", "-qam", "second", cwd=clone, env=genv)
    git("tag", "v1.1.0", cwd=clone, env=genv)
    git("tag", "-a", "-m", "annotated", "v2.0.0-rc.1", cwd=clone, env=genv)
    shas["second"] = git("rev-parse", "HEAD", cwd=clone, env=genv).strip()
    git("checkout", "-qb", "dev", cwd=clone, env=genv)
    write_files(clone, {"README.md": "dev\n"})
    git("commit", "-qam", "dev work", cwd=clone, env=genv)
    shas["dev"] = git("rev-parse", "HEAD", cwd=clone, env=genv).strip()
    git("push", "-q", "--tags", "origin", "main", "dev", cwd=clone, env=genv)
    return remote, shas


def highest_stable(tags: Sequence[str], constraint: str) -> str | None:
    """A stand-in for the policy stage's semver chooser: ``>=1.0.0`` style, stable tags only."""
    floor = tuple(int(p) for p in constraint.removeprefix(">=").split("."))
    stable = [t for t in tags if "-" not in t]
    versions = [tuple(int(p) for p in t.removeprefix("v").split(".")) for t in stable]
    chosen = [t for t, v in zip(stable, versions, strict=True) if v >= floor]
    return max(chosen, key=lambda t: tuple(int(p) for p in t.removeprefix("v").split(".")), default=None)


@pytest.mark.parametrize(
    ("ref", "expect_branch", "expect_sha"),
    [
        pytest.param(GitRef(branch="dev"), "dev", "dev", id="branch"),
        pytest.param(GitRef(tag="v1.0.0"), None, "initial", id="tag"),
        pytest.param(GitRef(tag="v2.0.0-rc.1"), None, "second", id="annotated-tag"),
        pytest.param(GitRef(semver=">=1.0.0"), None, "second", id="semver"),
        pytest.param(GitRef(commit="<initial>"), None, "initial", id="commit"),
        pytest.param(GitRef(branch="main", commit="<initial>"), None, "initial", id="commit-on-branch"),
        pytest.param(GitRef(name="refs/heads/dev"), "dev", "dev", id="name-branch"),
        pytest.param(GitRef(name="refs/tags/v1.1.0"), None, "second", id="name-tag"),
        pytest.param(GitRef(branch="dev", tag="v1.0.0"), None, "initial", id="tag-beats-branch"),
    ],
)
def test_checkout_ref_kinds(
    history: tuple[Remote, dict[str, str]],
    tmp_path: Path,
    ref: GitRef,
    expect_branch: str | None,
    expect_sha: str,
) -> None:
    remote, shas = history
    if ref.commit:
        ref = GitRef(branch=ref.branch, commit=shas["initial"])
    ws = Workspace.clone(remote.url, ref=ref, workdir=tmp_path / "w", choose_tag=highest_stable)
    assert ws.branch == expect_branch
    assert ws.head == shas[expect_sha]


@pytest.mark.parametrize(
    ("ref", "error", "match"),
    [
        pytest.param(GitRef(branch="nope"), errors.GitError, "nope", id="missing-branch"),
        pytest.param(GitRef(semver=">=9.0.0"), errors.GitError, "no tag", id="semver-no-match"),
        pytest.param(GitRef(commit="0" * 40), errors.GitError, "not found", id="missing-commit"),
        pytest.param(GitRef(name="main"), errors.ConfigError, "full ref", id="name-not-a-ref"),
    ],
)
def test_checkout_errors(
    history: tuple[Remote, dict[str, str]], tmp_path: Path, ref: GitRef, error: type[Exception], match: str
) -> None:
    remote, _ = history
    with pytest.raises(error, match=match):
        Workspace.clone(remote.url, ref=ref, workdir=tmp_path / "w", choose_tag=highest_stable)


def test_semver_ref_without_a_chooser_is_a_config_error(
    history: tuple[Remote, dict[str, str]], tmp_path: Path
) -> None:
    with pytest.raises(errors.ConfigError, match="tag chooser"):
        Workspace.clone(history[0].url, ref=GitRef(semver="1.x"), workdir=tmp_path / "w")


def test_commit_holds_only_the_given_files(make_remote: RemoteFactory, tmp_path: Path, genv: dict[str, str]) -> None:
    ws = Workspace.clone(make_remote("file").url, workdir=tmp_path / "w")
    write_files(ws.path, {"README.md": "not mine\n", "apps/.env": "PASSWORD=x\n"})

    revision = ws.commit("bump web", files={"apps/web/deploy.yaml": b"image: web:2.0.0\n"}, **AUTHOR)

    assert revision is not None and revision.sha == ws.head and revision.branch == "main"
    assert git("show", "--name-only", "--format=", "HEAD", cwd=ws.path, env=genv).split() == ["apps/web/deploy.yaml"]
    assert (ws.path / "apps/web/deploy.yaml").read_text() == "image: web:2.0.0\n"
    assert (ws.path / "README.md").read_text() == "not mine\n"  # the work tree keeps what it had
    assert git("status", "--porcelain", cwd=ws.path, env=genv).split() == ["M", "README.md", "??", "apps/.env"]


def test_commit_removes_files_given_as_none(make_remote: RemoteFactory, tmp_path: Path, genv: dict[str, str]) -> None:
    ws = Workspace.clone(make_remote("file").url, workdir=tmp_path / "w")

    assert ws.commit("apps", files={"apps/api/deploy.yaml": None, "apps/web/deploy.yaml": b"x\n"}, **AUTHOR)

    assert git("ls-tree", "-r", "--name-only", "HEAD", cwd=ws.path, env=genv).split() == [
        "README.md", "apps/web/deploy.yaml"]
    assert not (ws.path / "apps/api/deploy.yaml").exists()


def test_commit_on_another_parent_or_in_place_moves_nothing(
    remote: Remote, tmp_path: Path, genv: dict[str, str]
) -> None:
    owned = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    before = owned.head
    side = owned.commit("side", files={"README.md": b"side\n"}, parent=before, **AUTHOR)
    assert side is not None and owned.head == side.sha  # on HEAD in an owned clone: HEAD follows
    other = owned.commit("other", files={"README.md": b"other\n"}, parent=before, **AUTHOR)
    assert other is not None and owned.head == side.sha  # not on HEAD: nothing moves

    checkout = tmp_path / "checkout"
    git("clone", "-q", remote.cli_url, str(checkout), cwd=tmp_path, env=genv)
    head = git("rev-parse", "HEAD", cwd=checkout, env=genv)
    in_place = Workspace.open(checkout, auth=remote.auth)
    made = in_place.commit("in place", files={"README.md": b"bot\n"}, **AUTHOR)

    assert made is not None
    assert git("rev-parse", "HEAD", cwd=checkout, env=genv) == head
    assert git("status", "--porcelain", cwd=checkout, env=genv) == ""
    assert git("show", f"{made.sha}:README.md", cwd=checkout, env=genv) == "bot\n"


def test_nothing_to_change_means_no_commit(make_remote: RemoteFactory, tmp_path: Path) -> None:
    ws = Workspace.clone(make_remote("file").url, workdir=tmp_path / "w")
    before = ws.head
    write_files(ws.path, {"README.md": "fleet\n"})  # rewritten with the same bytes
    assert ws.commit("noop", files=worktree_files(ws), **AUTHOR) is None
    assert ws.commit("noop", files=worktree_files(ws, "README.md"), **AUTHOR) is None
    assert ws.head == before


def test_commit_refuses_paths_outside_the_repository(make_remote: RemoteFactory, tmp_path: Path) -> None:
    ws = Workspace.clone(make_remote("file").url, workdir=tmp_path / "w")
    with pytest.raises(errors.GitError, match="outside the repository"):
        ws.commit("bad", files={"../escape.yaml": b"x\n"}, **AUTHOR)
    assert ws.commit("nothing", files={"missing.yaml": None}, **AUTHOR) is None


def test_commit_and_push_to_the_checkout_branch(remote: Remote, tmp_path: Path, genv: dict[str, str]) -> None:
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    write_files(ws.path, {"apps/web/deploy.yaml": "image: web:2.0.0\n"})
    committed = ws.commit("bump web", files=worktree_files(ws), **AUTHOR)

    pushed = ws.push()

    assert pushed == committed
    assert remote_subjects(remote.bare, genv) == ["bump web", "initial"]
    author = git("log", "-1", "--format=%an <%ae>|%cn <%ce>", "main", cwd=remote.bare, env=genv).strip()
    assert author == "imagebot <bot@example.com>|imagebot <bot@example.com>"


def test_push_to_another_branch_and_a_refspec(remote: Remote, tmp_path: Path, genv: dict[str, str]) -> None:
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    write_files(ws.path, {"apps/web/deploy.yaml": "image: web:2.0.0\n"})
    committed = ws.commit("bump web", files=worktree_files(ws), **AUTHOR)
    assert committed is not None

    revision = ws.push("auto", commit=committed.sha, refspec="refs/heads/auto:refs/heads/staging")

    assert revision.branch == "auto"
    assert remote_subjects(remote.bare, genv, "auto") == ["bump web", "initial"]
    assert remote_subjects(remote.bare, genv, "staging") == ["bump web", "initial"]
    assert remote_subjects(remote.bare, genv, "main") == ["initial"]


def test_detached_checkout_needs_a_push_branch(
    history: tuple[Remote, dict[str, str]], tmp_path: Path
) -> None:
    ws = Workspace.clone(history[0].url, ref=GitRef(tag="v1.0.0"), workdir=tmp_path / "w")
    write_files(ws.path, {"README.md": "from a tag\n"})
    assert ws.commit("on tag", files=worktree_files(ws), **AUTHOR) is not None
    with pytest.raises(errors.ConfigError, match="detached"):
        ws.push()
    assert ws.push("from-tag").branch == "from-tag"


def test_force_with_lease_guards_the_bots_own_branch(
    remote: Remote, tmp_path: Path, genv: dict[str, str]
) -> None:
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    write_files(ws.path, {"README.md": "one\n"})
    ws.commit("one", files=worktree_files(ws), **AUTHOR)
    first = ws.push("imagebot/auto", force_with_lease="")  # create: must not exist yet
    write_files(ws.path, {"README.md": "one, again\n"})
    ws.commit("one again", files=worktree_files(ws), **AUTHOR)

    with pytest.raises(errors.PushRejected, match="imagebot/auto"):
        ws.push("imagebot/auto", force_with_lease="")

    ws.reset(git("rev-parse", "main", cwd=remote.bare, env=genv).strip())  # rebuild from main
    write_files(ws.path, {"README.md": "two\n"})
    ws.commit("two", files=worktree_files(ws), **AUTHOR)
    ws.push("imagebot/auto", force_with_lease=first.sha)
    assert remote_subjects(remote.bare, genv, "imagebot/auto") == ["two", "initial"]


def test_open_works_in_place(remote: Remote, tmp_path: Path, genv: dict[str, str]) -> None:
    checkout = tmp_path / "action-checkout"
    git("clone", "-q", remote.cli_url, str(checkout), cwd=tmp_path, env=genv)
    git("remote", "set-url", "origin", remote.url, cwd=checkout, env=genv)  # as actions/checkout leaves it

    head = git("rev-parse", "HEAD", cwd=checkout, env=genv)

    ws = Workspace.open(checkout / "apps", auth=remote.auth)
    with ws.files_at(ws.head, paths=["web"], containing=b"image") as root:
        assert (root / "web" / "deploy.yaml").read_text().startswith("image: web:1.0.0 #")
        assert root != ws.root and not (root / "api").exists()  # a copy of just what was asked for
    made = ws.commit("in place", files={ws.git_path("web/deploy.yaml"): b"image: web:3.0.0\n"}, **AUTHOR)
    assert made is not None
    ws.push(commit=made.sha)

    assert ws.path.resolve() == checkout.resolve()
    assert ws.root.resolve() == (checkout / "apps").resolve()
    assert remote_subjects(remote.bare, genv) == ["in place", "initial"]
    assert git("status", "--porcelain", cwd=checkout, env=genv) == ""
    assert git("rev-parse", "HEAD", cwd=checkout, env=genv) == head
    assert git("rev-parse", "origin/main", cwd=checkout, env=genv).strip() == made.sha


def test_open_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(errors.GitError, match="not inside a git repository"):
        Workspace.open(tmp_path)


def test_same_tree_compares_content_not_history(remote: Remote, tmp_path: Path, genv: dict[str, str]) -> None:
    ws = Workspace.clone(remote.url, auth=remote.auth, workdir=tmp_path / "w")
    base = ws.head
    write_files(ws.path, {"README.md": "bot\n"})
    first = ws.commit("one", files=worktree_files(ws), **AUTHOR)
    ws.push("imagebot/auto")
    ws.reset(base)
    write_files(ws.path, {"README.md": "bot\n"})
    second = ws.commit("same change, new commit", files=worktree_files(ws), **AUTHOR)
    assert first is not None and second is not None and first.sha != second.sha

    remote_head = ws.fetch_branch("imagebot/auto")

    assert remote_head == first.sha
    assert ws.same_tree(remote_head, second.sha)
    assert not ws.same_tree(base, second.sha)
    assert ws.fetch_branch("no-such-branch") is None
    with pytest.raises(errors.GitError, match="not in the local clone"):
        ws.same_tree("0" * 40, second.sha)


@pytest.mark.integration
def test_credentials_in_the_url_are_never_stored(
    make_remote: RemoteFactory, tmp_path: Path, genv: dict[str, str]
) -> None:
    remote = make_remote("http")
    assert isinstance(remote.auth, gitauth.BasicAuth)
    secret = remote.auth.password
    with_token = remote.url.replace("http://", f"http://{remote.auth.username}:{secret}@")

    ws = Workspace.clone(with_token, workdir=tmp_path / "w")  # no auth value: the URL's userinfo
    write_files(ws.path, {"README.md": "pushed with the URL's credentials\n"})
    ws.commit("bump", files=worktree_files(ws), **AUTHOR)
    ws.push()
    again = Workspace.clone(with_token, workdir=tmp_path / "w")  # reuse keeps it clean too

    stored = (tmp_path / "w" / ".git" / "config").read_text()
    assert secret not in stored
    assert remote.url in stored
    assert again.url == remote.url
    assert remote_subjects(remote.bare, genv) == ["bump", "initial"]
    leftovers = [p for p in (tmp_path / "w" / ".git").rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert leftovers == []


def test_credentials_already_stored_by_an_older_clone_are_scrubbed(
    make_remote: RemoteFactory, tmp_path: Path
) -> None:
    remote = make_remote("file")
    repo = pygit2.init_repository(str(tmp_path / "w"), bare=False)
    repo.remotes.create("origin", remote.url.replace("file://", "file://user:s3cret-token@"))

    Workspace.clone(remote.url, workdir=tmp_path / "w")

    assert "s3cret-token" not in (tmp_path / "w" / ".git" / "config").read_text()


def test_a_clone_in_use_by_another_process_is_waited_for_then_refused(
    make_remote: RemoteFactory, tmp_path: Path
) -> None:
    remote = make_remote("file")
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(tmp_path / "w.lock")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(errors.WorkspaceBusy, match=rf"pid {holder.pid}\).*{tmp_path / 'w'}") as caught:
            Workspace.clone(remote.url, workdir=tmp_path / "w", lock_timeout=0.3)
        assert isinstance(caught.value, errors.TemporaryError)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    with Workspace.clone(remote.url, workdir=tmp_path / "w", lock_timeout=5) as ws:  # the holder died
        assert ws.branch == "main"
        busy: list[BaseException] = []
        other = threading.Thread(target=lambda: _clone_into(remote.url, tmp_path / "w", busy))
        other.start()
        other.join()
        assert len(busy) == 1 and isinstance(busy[0], errors.WorkspaceBusy)  # another thread waits too
        Workspace.clone(remote.url, workdir=tmp_path / "w", lock_timeout=0.1).close()  # re-entrant


def _clone_into(url: str, workdir: Path, caught: list[BaseException]) -> None:
    try:
        Workspace.clone(url, workdir=workdir, lock_timeout=0.2).close()
    except BaseException as exc:  # noqa: BLE001 - handed to the test
        caught.append(exc)


LOCK_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f"pid {os.getpid()}\\n".encode())
print("locked", flush=True)
time.sleep(60)
"""
