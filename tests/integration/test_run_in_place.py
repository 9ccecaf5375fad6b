"""`imagebot run --repo <checkout>` never commits, moves or loses the user's work (issue 8).

Aspects: the commit holds exactly what the setters produced (an untracked apps/.env with a
password, an unrelated edit and a leftover temp file stay out of it); HEAD, the index, the local
branches and every file of the checkout are left exactly as found — with --pr and uncommitted
edits, on `master` while the automation publishes `main`, and when the run fails after the
setters ran (no remote 'origin'); "unchanged" is judged against the branch being published;
`plan --repo DIR` inside another work tree uses DIR as the root; a remote that never answers is
a temporary error naming it. Real docker-registry, real bare repos, the git CLI as the user.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import cli
from testing.gitrepos import git, git_env, make_bare
from testing.registry import RegistryServer
from testing.silentserver import SilentServer
from tests.fakes.github import FakeGitHub
from tests.integration.test_run import MANIFEST, policies

pytestmark = pytest.mark.integration

PASSWORD = "env-Pw-7d1x-not-for-git"


@pytest.fixture
def genv(tmp_path: Path) -> dict[str, str]:
    return git_env(tmp_path / "git-home")


@pytest.fixture
def image(registry_anonymous: RegistryServer, repo: Callable[[str], str]) -> str:
    name = repo("org/app")
    registry_anonymous.push_tags(name, ["1.0.0", "1.1.0"])
    return f"{registry_anonymous.host}/{name}"


def imagebot(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(checkout: Path, env: dict[str, str]) -> dict[str, object]:
    """Everything of a checkout imagebot must leave alone: HEAD, the index, the local branches,
    the status, and the bytes of every file in the work tree."""
    files = {
        str(p.relative_to(checkout)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(checkout.rglob("*")) if p.is_file() and ".git" not in p.relative_to(checkout).parts
    }
    index = hashlib.sha256((checkout / ".git" / "index").read_bytes()).hexdigest()  # before git reads it
    return {
        "HEAD": git("symbolic-ref", "-q", "HEAD", cwd=checkout, env=env, check=False)
        + git("rev-parse", "HEAD", cwd=checkout, env=env),
        "index": git("ls-files", "--stage", cwd=checkout, env=env),
        "index-file": index,
        "branches": git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", cwd=checkout, env=env),
        # --no-optional-locks: status must not refresh (rewrite) the index it is looking at
        "status": git("--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all",
                      cwd=checkout, env=env),
        "files": files,
    }


@pytest.fixture
def checkout(tmp_path: Path, image: str, genv: dict[str, str]) -> tuple[Path, Path, Path]:
    """(bare remote, the user's clone of it, the imagebot config) — the app at 1.0.0, 1.1.0 exists."""
    files = {"apps/app.yaml": MANIFEST.format(image=image), "apps/other.yaml": "replicas: 1\n",
             "README.md": "fleet\n"}
    bare = make_bare(tmp_path / "gitops.git", files, env=genv)
    user = tmp_path / "checkout"
    git("clone", "-q", str(bare), str(user), cwd=tmp_path, env=genv)
    config = policies(tmp_path / "policies", image=image, url="https://github.com/example/elsewhere", secret=None)
    return bare, user, config


def run_in(capsys: pytest.CaptureFixture[str], user: Path, config: Path, tmp_path: Path, *extra: str
           ) -> tuple[int, str, str]:
    return imagebot(capsys, "run", "--repo", str(user), "--config", str(config),
                    "--state", str(tmp_path / "s.db"), *extra)


def remote_files(bare: Path, env: dict[str, str], branch: str = "main") -> list[str]:
    return git("ls-tree", "-r", "--name-only", branch, cwd=bare, env=env).split()


def test_commit_holds_only_what_the_setters_wrote(
    checkout: tuple[Path, Path, Path], tmp_path: Path, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    bare, user, config = checkout
    (user / "apps" / ".env").write_text(f"PASSWORD={PASSWORD}\n")  # untracked, not ignored
    (user / "apps" / "other.yaml").write_text("replicas: 3  # not ready\n")  # an unrelated edit
    (user / "apps" / ".app.yaml.x1y2z3.imagebot").write_text("half-written temp file\n")
    before = snapshot(user, genv)

    code, out, err = run_in(capsys, user, config, tmp_path)

    assert code == 0, err
    assert "committed" in out
    assert remote_files(bare, genv) == ["README.md", "apps/app.yaml", "apps/other.yaml"]
    assert git("show", "main:apps/other.yaml", cwd=bare, env=genv) == "replicas: 1\n"
    assert git("diff", "--name-only", "main~1", "main", cwd=bare, env=genv).split() == ["apps/app.yaml"]
    assert "1.1.0" in git("show", "main:apps/app.yaml", cwd=bare, env=genv)
    assert PASSWORD not in git("log", "-p", "--all", cwd=bare, env=genv)
    assert snapshot(user, genv) == before


def test_pull_request_mode_keeps_uncommitted_edits_and_the_branch(
    checkout: tuple[Path, Path, Path], tmp_path: Path, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare, user, config = checkout
    github = FakeGitHub().start()
    try:
        (config / "pr.yaml").write_text(f"""\
apiVersion: imagebot.dev/v1alpha1
kind: PullRequest
metadata: {{name: apps, namespace: flux-system}}
spec:
  forge: {{apiURL: '{github.base_url}', repository: org/gitops}}
""")
        monkeypatch.setenv("GITHUB_TOKEN", "ghp_valid")
        app = user / "apps" / "app.yaml"
        app.write_text(app.read_text().replace("name: app   # the app", "name: app   # renamed soon"))
        (user / "README.md").write_text("fleet, staged edit\n")
        git("add", "README.md", cwd=user, env=genv)
        (user / "notes.txt").write_text("untracked\n")
        before = snapshot(user, genv)

        code, out, err = run_in(capsys, user, config, tmp_path, "--pr")

        assert code == 0, err
        assert "opened pull request #1" in out
        published = git("show", "imagebot/apps:apps/app.yaml", cwd=bare, env=genv)
        assert "1.1.0" in published and "renamed soon" not in published
        assert git("show", "imagebot/apps:README.md", cwd=bare, env=genv) == "fleet\n"
        assert snapshot(user, genv) == before
    finally:
        github.stop()


def test_on_master_while_the_automation_publishes_main(
    checkout: tuple[Path, Path, Path], tmp_path: Path, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    bare, user, config = checkout
    git("checkout", "-qb", "master", cwd=user, env=genv)
    (user / "README.md").write_text("master's own work\n")
    git("commit", "-qam", "master work", cwd=user, env=genv)
    before = snapshot(user, genv)

    code, _out, err = run_in(capsys, user, config, tmp_path)

    assert code == 0, err
    assert git("log", "--format=%s", "main", cwd=bare, env=genv).splitlines() == [
        "Automated image update", "initial"]
    assert git("show", "main:README.md", cwd=bare, env=genv) == "fleet\n"
    assert "refs/heads/master" not in git("for-each-ref", cwd=bare, env=genv)
    assert snapshot(user, genv) == before


def test_a_failed_run_leaves_the_checkout_as_found_and_the_next_run_commits(
    checkout: tuple[Path, Path, Path], tmp_path: Path, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    bare, user, config = checkout
    git("remote", "rename", "origin", "upstream", cwd=user, env=genv)
    before = snapshot(user, genv)

    code, out, err = run_in(capsys, user, config, tmp_path)

    assert code == 1
    assert "no remote 'origin'" in err
    assert snapshot(user, genv) == before

    git("remote", "rename", "upstream", "origin", cwd=user, env=genv)
    code, out, err = run_in(capsys, user, config, tmp_path)

    assert code == 0, err
    assert "changed 1 field" in out
    assert "1.1.0" in git("show", "main:apps/app.yaml", cwd=bare, env=genv)


def test_unchanged_is_judged_against_the_branch_being_published(
    checkout: tuple[Path, Path, Path], tmp_path: Path, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    bare, user, config = checkout
    app = user / "apps" / "app.yaml"
    app.write_text(app.read_text().replace(":1.0.0 #", ":1.1.0 #", 1))  # the edit, never committed
    before = snapshot(user, genv)

    code, _out, err = run_in(capsys, user, config, tmp_path)

    assert code == 0, err
    assert "1.1.0" in git("show", "main:apps/app.yaml", cwd=bare, env=genv)
    assert snapshot(user, genv) == before


def test_plan_in_a_directory_inside_another_work_tree_uses_that_directory(
    tmp_path: Path, image: str, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    outer = tmp_path / "outer"
    (outer / "example" / "gitops" / "apps").mkdir(parents=True)
    (outer / "example" / "gitops" / "apps" / "app.yaml").write_text(MANIFEST.format(image=image))
    git("init", "-q", "-b", "main", str(outer), cwd=tmp_path, env=genv)
    git("add", "-A", cwd=outer, env=genv)
    git("commit", "-qm", "outer", cwd=outer, env=genv)
    config = policies(tmp_path / "policies", image=image, url="https://github.com/example/elsewhere", secret=None)

    code, out, err = imagebot(capsys, "plan", "--repo", str(outer / "example" / "gitops"), "--config", str(config),
                              "--state", str(tmp_path / "s.db"))

    assert code == 0, out + err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.startswith("  flux-system/")}
    assert rows["flux-system/app"][1:3] == ["1.0.0", "1.1.0"]
    assert "would change 1 field in 1 file" in out

    (outer / "example" / "gitops" / "apps" / "app.yaml").unlink()
    (outer / "example" / "gitops" / "apps").rmdir()
    code, out, err = imagebot(capsys, "plan", "--repo", str(outer / "example" / "gitops"), "--config", str(config),
                              "--state", str(tmp_path / "s.db"))

    assert code == 1
    assert f"apps: no such file or directory under {(outer / 'example' / 'gitops').resolve()}" in out + err


def test_a_remote_that_never_answers_is_a_temporary_error_naming_it(
    tmp_path: Path, image: str, capsys: pytest.CaptureFixture[str],
) -> None:
    with SilentServer() as silent:
        url = silent.url("http", "gitops.git")
        config = policies(tmp_path / "policies", image=image, url=url, secret=None)
        text = (config / "all.yaml").read_text().replace("  ref: {branch: main}", "  ref: {branch: main}\n  timeout: 1s")
        (config / "all.yaml").write_text(text)

        code, _out, err = imagebot(capsys, "run", "--config", str(config), "--state", str(tmp_path / "s.db"),
                                  "--workdir", str(tmp_path / "work"))

    assert code == 1
    assert url in err
    assert "timed out" in err


def test_no_push_in_place_is_refused_and_changes_nothing(
    checkout: tuple[Path, Path, Path], tmp_path: Path, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    bare, user, config = checkout
    before = snapshot(user, genv)

    code, _out, err = run_in(capsys, user, config, tmp_path, "--no-push")

    assert code == 2
    assert "--no-push in a checkout opened in place" in err
    assert snapshot(user, genv) == before
    assert git("log", "--format=%s", "main", cwd=bare, env=genv).splitlines() == ["initial"]


def test_stale_temp_files_of_a_killed_run_are_removed_from_imagebots_clone(
    checkout: tuple[Path, Path, Path], tmp_path: Path, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    bare, _user, config = checkout
    argv = ["--repo", f"file://{bare}", "--workdir", str(tmp_path / "work")]
    code, _out, err = imagebot(capsys, "run", "--dry-run", "--config", str(config), "--state", str(tmp_path / "s.db"),
                               *argv)
    assert code == 0, err
    clone = next(p for p in (tmp_path / "work").iterdir() if p.is_dir())  # not <clone>.lock
    gone_pid = _dead_pid()
    stale = clone / "apps" / f".app.yaml.{gone_pid}.k3j2h1.imagebot"
    stale.write_text("half-written by a killed run\n")
    alive = clone / "apps" / ".app.yaml.1.a1b2c3.imagebot"  # pid 1 is alive: not provably ours
    alive.write_text("someone else's\n")

    code, _out, err = imagebot(capsys, "run", "--config", str(config), "--state", str(tmp_path / "s.db"), *argv)

    assert code == 0, err
    assert not stale.exists()
    assert alive.exists()
    assert remote_files(bare, genv) == ["README.md", "apps/app.yaml", "apps/other.yaml"]


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_ignore_files_of_the_published_branch_are_honoured_at_any_depth(
    tmp_path: Path, image: str, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    marked = MANIFEST.format(image=image)
    files = {"apps/app.yaml": marked, "apps/frozen/app.yaml": marked, "apps/frozen/.imagebotignore": "app.yaml\n"}
    bare = make_bare(tmp_path / "gitops.git", files, env=genv)
    user = tmp_path / "checkout"
    git("clone", "-q", str(bare), str(user), cwd=tmp_path, env=genv)
    config = policies(tmp_path / "policies", image=image, url="https://github.com/example/elsewhere", secret=None)

    code, _out, err = run_in(capsys, user, config, tmp_path)

    assert code == 0, err
    assert "1.1.0" in git("show", "main:apps/app.yaml", cwd=bare, env=genv)
    assert git("show", "main:apps/frozen/app.yaml", cwd=bare, env=genv) == marked
