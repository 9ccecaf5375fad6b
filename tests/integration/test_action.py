"""``imagebot action``, the GitHub Action's entrypoint, run with the environment a runner sets.

A real registry, a shallow checkout of a real bare repository as GITHUB_WORKSPACE (as
actions/checkout leaves it; worked on in place),
GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, GITHUB_EVENT_PATH, INPUT_* variables, and the local
GitHub API fake for pull requests. Aspects: mode commit pushes and sets changed/commit; mode plan
changes nothing but reports what would change; mode pull-request opens a pull request and sets its
number and URL; a repository_dispatch payload limits the run to the automations it names; a bad
input is a configuration error (exit 2) that the job summary shows too; a failed image repository
fails the step (exit 1) with an annotation; the token never appears.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import cli
from testing.gitops import manifest, write_policies
from testing.gitrepos import git, git_env, make_bare
from testing.registry import RegistryServer
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

TOKEN = "ghp_valid"


@pytest.fixture
def image(registry_anonymous: RegistryServer, repo: Callable[[str], str]) -> str:
    name = repo("org/app")
    registry_anonymous.push_tags(name, ["1.0.0", "1.1.0"])
    return f"{registry_anonymous.host}/{name}"


class Runner:
    """A GitHub Actions runner's view: the workspace, the files it hands the step, the remote."""

    def __init__(self, tmp_path: Path, image: str, monkeypatch: pytest.MonkeyPatch, extra: str = "") -> None:
        self.env = git_env(tmp_path / "git-home")
        self.bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": manifest(image)}, env=self.env)
        self.workspace = tmp_path / "workspace"
        # actions/checkout fetches one commit: the workspace is a shallow clone
        seed = tmp_path / "seed"
        git("clone", "-q", str(self.bare), str(seed), cwd=tmp_path, env=self.env)
        (seed / "README").write_text("x")
        git("add", "README", cwd=seed, env=self.env)
        git("commit", "-qm", "human change", cwd=seed, env=self.env)
        git("push", "-q", "origin", "main", cwd=seed, env=self.env)
        git("clone", "-q", "--depth", "1", f"file://{self.bare}", str(self.workspace), cwd=tmp_path, env=self.env)
        assert (self.workspace / ".git" / "shallow").exists()
        # the configuration lives in the repository, as in most GitOps set-ups
        write_policies(self.workspace / "flux", image=image,
                       automations={"apps": "ssh://git@github.com/org/gitops", "other": "file:///nowhere"},
                       extra=extra)
        self.output = tmp_path / "github_output"
        self.summary = tmp_path / "step_summary"
        self.event = tmp_path / "event.json"
        self.event.write_text(json.dumps({"schedule": "*/30 * * * *"}))
        for name, value in {
            "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(self.workspace), "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary), "GITHUB_EVENT_NAME": "schedule",
            "GITHUB_EVENT_PATH": str(self.event), "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "org/gitops",
            "INPUT_CONFIG": "flux", "INPUT_TOKEN": "", "INPUT_EXTRA_ARGS": "",
            "IMAGEBOT_HOME": str(tmp_path / "imagebot-home"),
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(self.workspace)
        self.history = self.remote_log()

    def outputs(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.output.read_text().splitlines())

    def remote_log(self) -> list[str]:
        return git("log", "--format=%s", "main", cwd=self.bare, env=self.env).splitlines()


def action(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, mode: str,
           extra_args: str = "") -> tuple[int, str, str]:
    monkeypatch.setenv("INPUT_MODE", mode)
    monkeypatch.setenv("INPUT_EXTRA_ARGS", extra_args)
    code = cli.main(["action"])
    out, err = capsys.readouterr()
    return code, out, err


def test_commit_mode_pushes_and_sets_outputs_and_summary(
    tmp_path: Path, image: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = Runner(tmp_path, image, monkeypatch)

    code, out, err = action(capsys, monkeypatch, "commit", "--automation flux-system/apps")

    assert code == 0, err
    assert len(runner.remote_log()) == len(runner.history) + 1
    head = git("rev-parse", "main", cwd=runner.bare, env=runner.env).strip()
    assert runner.outputs() == {"changed": "true", "commit": head, "pull-request-number": "",
                                "pull-request-url": ""}
    # in place the checkout is left as found (issue 8): the commit is on the remote, git pull brings it
    assert "1.0.0" in (runner.workspace / "apps" / "app.yaml").read_text()
    assert git("rev-parse", "origin/main", cwd=runner.workspace, env=runner.env).strip() == head
    summary = runner.summary.read_text()
    assert summary.startswith("## imagebot: commit\n")
    assert "| flux-system/app | `1.0.0` | `1.1.0` | selected '1.1.0'" in summary
    assert f"committed {head[:12]} on main" in summary
    assert "**summary: 1 automation: 1 committed**" in summary
    assert "summary: 1 automation: 1 committed" in out

    code, out, err = action(capsys, monkeypatch, "commit", "--automation flux-system/apps")

    assert code == 0, err
    assert runner.outputs()["changed"] == "false"  # appended: GitHub reads the last value
    assert len(runner.remote_log()) == len(runner.history) + 1
    for text in (out, err, runner.summary.read_text(), runner.output.read_text()):
        assert TOKEN not in text


def test_plan_mode_changes_nothing_and_reports_what_would_change(
    tmp_path: Path, image: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = Runner(tmp_path, image, monkeypatch)

    code, out, err = action(capsys, monkeypatch, "plan")

    assert code == 0, err
    assert runner.remote_log() == runner.history
    assert "1.0.0" in (runner.workspace / "apps" / "app.yaml").read_text()
    assert runner.outputs() == {"changed": "true", "commit": "", "pull-request-number": "",
                                "pull-request-url": ""}
    summary = runner.summary.read_text()
    assert summary.startswith("## imagebot: plan (nothing changed)\n")
    assert "### flux-system/apps" in summary and "### flux-system/other" in summary
    assert "would change 1 field in 1 file" in summary
    assert "+image: " in out  # the diff goes to the log


def test_pull_request_mode_on_a_repository_dispatch(
    tmp_path: Path, image: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    github = FakeGitHub().start()
    try:
        extra = f"""apiVersion: imagebot.dev/v1alpha1
kind: PullRequest
metadata: {{name: apps, namespace: flux-system}}
spec:
  forge: {{apiURL: '{github.base_url}', repository: org/gitops}}
"""
        runner = Runner(tmp_path, image, monkeypatch, extra=extra)
        runner.event.write_text(json.dumps({"action": "new-image",
                                            "client_payload": {"automations": ["flux-system/apps"]}}))
        monkeypatch.setenv("GITHUB_EVENT_NAME", "repository_dispatch")
        monkeypatch.setenv("GITHUB_TOKEN", "")
        monkeypatch.setenv("INPUT_TOKEN", TOKEN)  # the input wins over the job's token

        code, out, err = action(capsys, monkeypatch, "pull-request")

        assert code == 0, err
        assert [p.head for p in github.pulls.values()] == ["imagebot/apps"]
        assert runner.outputs()["pull-request-number"] == "1"
        assert runner.outputs()["pull-request-url"] == github.base_url.removesuffix("/api/v3") + "/org/gitops/pull/1"
        assert runner.outputs()["changed"] == "true"
        assert runner.remote_log() == runner.history
        summary = runner.summary.read_text()
        assert summary.startswith("## imagebot: pull request\n")
        assert "opened pull request #1" in summary
        assert "flux-system/other" not in summary  # the dispatch named only apps
        for text in (out, err, summary, runner.output.read_text()):
            assert TOKEN not in text
    finally:
        github.stop()


def test_a_failed_repository_fails_the_step_with_an_annotation_and_the_others_still_run(
    tmp_path: Path, image: str, registry_anonymous: RegistryServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gone = f"""apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: gone, namespace: flux-system}}
spec: {{image: {registry_anonymous.host}/no/such-repository, interval: 5m}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: gone, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: gone}}
  policy: {{semver: {{range: '>=1.0.0'}}}}
"""
    runner = Runner(tmp_path, image, monkeypatch, extra=gone)

    code, out, _ = action(capsys, monkeypatch, "commit", "--automation flux-system/apps")

    assert code == 1
    assert len(runner.remote_log()) == len(runner.history) + 1  # flux-system/app's field was still updated and pushed
    assert "::error title=imagebot::flux-system/gone: " in out
    summary = runner.summary.read_text()
    assert "### Failures\n\n- flux-system/gone: " in summary
    assert "**summary: 1 automation: 1 committed; 1 image repository failed to scan**" in summary
    assert runner.outputs()["changed"] == "true"


@pytest.mark.parametrize(("variable", "value", "message", "in_summary"), [
    pytest.param("INPUT_MODE", "push", "input mode: 'push' is not one of commit, pull-request, plan", False,
                 id="mode"),
    pytest.param("INPUT_EXTRA_ARGS", "--automation 'unclosed", "input extra_args: No closing quotation", False,
                 id="quoting"),
    pytest.param("INPUT_EXTRA_ARGS", "--frobnicate", "input extra_args: not valid for 'imagebot run'", True,
                 id="unknown-option"),
    pytest.param("INPUT_CONFIG", "missing", "missing: no such file or directory", True, id="config"),
])
def test_bad_inputs_are_configuration_errors(
    tmp_path: Path, image: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    variable: str, value: str, message: str, in_summary: bool,
) -> None:
    runner = Runner(tmp_path, image, monkeypatch)
    monkeypatch.setenv("INPUT_MODE", "commit")
    monkeypatch.setenv(variable, value)

    code = cli.main(["action"])

    _, err = capsys.readouterr()
    assert code == 2
    assert message in err
    assert runner.remote_log() == runner.history
    if in_summary:  # the inputs were read: the job summary says what went wrong too
        assert message in runner.summary.read_text()


def test_outside_a_runner_it_says_what_to_use(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["action"]) == 2
    assert "GITHUB_WORKSPACE is not set" in capsys.readouterr().err
