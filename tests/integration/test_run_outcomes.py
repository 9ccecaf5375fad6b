"""Exit codes and the closing summary of ``imagebot run`` / ``plan``, which a scheduler acts on.

Aspects: 0 when everything worked (changes or not); 1 when one automation failed while the
others still ran and committed; 2 for an invalid configuration; the one-screen summary at the end
in text and as ``summary`` in ``--json``; ``scan`` uses the same codes.
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

pytestmark = pytest.mark.integration


@pytest.fixture
def image(registry_anonymous: RegistryServer, repo: Callable[[str], str]) -> str:
    name = repo("org/app")
    registry_anonymous.push_tags(name, ["1.0.0", "1.1.0"])
    return f"{registry_anonymous.host}/{name}"


def imagebot(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["--log-format", "text", *argv])  # plain stderr lines, not JSON
    out, err = capsys.readouterr()
    return code, out, err


def test_one_failing_automation_exits_1_after_the_others_ran(
    tmp_path: Path, image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = git_env(tmp_path / "git-home")
    good = make_bare(tmp_path / "good.git", {"apps/app.yaml": manifest(image)}, env=env)
    config = write_policies(tmp_path / "policies", image=image,
                            automations={"good": f"file://{good}", "broken": f"file://{tmp_path}/missing.git"})
    argv = ["run", "--config", str(config), "--state", str(tmp_path / "s.db"), "--workdir", str(tmp_path / "w")]

    code, out, err = imagebot(capsys, *argv)

    assert code == 1
    assert git("log", "--format=%s", "main", cwd=good, env=env).count("\n") == 2  # committed
    assert "imagebot: flux-system/broken: " in err
    assert out.splitlines()[-1] == "summary: 2 automations: 1 committed, 1 failed"

    code, out, _ = imagebot(capsys, *argv, "--json")

    assert code == 1
    document = json.loads(out)
    assert document["summary"] == {"automations": 2, "committed": 0, "pull_request": 0, "would_change": 0,
                                   "waiting": 0, "unchanged": 1, "failed": 1, "repositories_failed": 0, "exit_code": 1}
    assert [(f["kind"], f["name"]) for f in document["failures"]] == [("automation", "flux-system/broken")]


def test_everything_fine_exits_0_and_plan_says_what_would_change(
    tmp_path: Path, image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = git_env(tmp_path / "git-home")
    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": manifest(image)}, env=env)
    config = write_policies(tmp_path / "policies", image=image, automations={"apps": f"file://{bare}"})
    argv = ["--config", str(config), "--state", str(tmp_path / "s.db"), "--workdir", str(tmp_path / "w")]

    code, out, err = imagebot(capsys, "plan", *argv)
    assert (code, out.splitlines()[-1]) == (0, "summary: 1 automation: 1 would change"), err

    code, out, err = imagebot(capsys, "run", *argv)
    assert (code, out.splitlines()[-1]) == (0, "summary: 1 automation: 1 committed"), err

    code, out, err = imagebot(capsys, "run", *argv)
    assert (code, out.splitlines()[-1]) == (0, "summary: 1 automation: 1 unchanged"), err


def test_invalid_configuration_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_policies(tmp_path / "policies", image="ghcr.io/org/app:1.0", automations={"a": "file:///x"})

    code, out, err = imagebot(capsys, "run", "--config", str(config), "--state", str(tmp_path / "s.db"))

    assert code == 2
    assert out == ""
    assert err.startswith("imagebot: configuration error: ")


def test_scan_exits_1_when_a_repository_failed_and_2_on_bad_configuration(
    tmp_path: Path, image: str, registry_anonymous: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_policies(tmp_path / "policies", image=image, automations={},
                            extra=f"apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
                                  f"metadata: {{name: gone, namespace: flux-system}}\n"
                                  f"spec: {{image: {registry_anonymous.host}/no/such-repository}}\n")
    argv = ["scan", "--config", str(config), "--state", str(tmp_path / "s.db")]

    code, out, _ = imagebot(capsys, *argv)
    assert code == 1
    assert "flux-system/app" in out and "error:" in out

    (config / "bad.yaml").write_text("kind: ImagePolicy\napiVersion: image.toolkit.fluxcd.io/v1\nspec: [\n")
    code, _, err = imagebot(capsys, *argv)
    assert code == 2
    assert "configuration error" in err
