"""Where imagebot writes when no --state / --workdir is given: its home, never the working directory.

Aspects: ``IMAGEBOT_HOME`` holds ``state.db`` and ``git/`` clones; without it
``$XDG_STATE_HOME/imagebot``, else ``~/.local/state/imagebot``; the working directory stays
untouched (in a container it is ``/``, read-only); an unusable home is one clear configuration
error naming IMAGEBOT_HOME. (Running as a non-root user on a read-only root file system is checked
for real by ``tests/container``.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import cli
from testing.gitops import manifest, write_policies
from testing.gitrepos import git_env, make_bare
from testing.registry import RegistryServer

pytestmark = pytest.mark.integration


@pytest.fixture
def image(registry_anonymous: RegistryServer, repo: Callable[[str], str]) -> str:
    name = repo("org/app")
    registry_anonymous.push_tags(name, ["1.0.0", "1.1.0"])
    return f"{registry_anonymous.host}/{name}"


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cwd"
    where.mkdir()
    monkeypatch.chdir(where)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    return where


def test_run_keeps_state_and_clones_in_imagebot_home(
    tmp_path: Path, image: str, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": manifest(image)}, env=git_env(tmp_path / "g"))
    config = write_policies(tmp_path / "policies", image=image, automations={"apps": f"file://{bare}"})
    monkeypatch.setenv("IMAGEBOT_HOME", str(tmp_path / "home"))

    assert cli.main(["run", "--config", str(config)]) == 0, capsys.readouterr().err

    assert (tmp_path / "home" / "state.db").is_file()
    clones = [p for p in (tmp_path / "home" / "git").iterdir() if p.is_dir()]  # and <clone>.lock
    assert len(clones) == 1
    assert "1.1.0" in (clones[0] / "apps" / "app.yaml").read_text()
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("xdg", [pytest.param(True, id="xdg-state-home"), pytest.param(False, id="home")])
def test_scan_without_imagebot_home_uses_the_xdg_state_directory(
    tmp_path: Path, image: str, cwd: Path, monkeypatch: pytest.MonkeyPatch, xdg: bool
) -> None:
    config = write_policies(tmp_path / "policies", image=image, automations={})
    if xdg:
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    expected = tmp_path / ("xdg" if xdg else "user/.local/state") / "imagebot" / "state.db"

    assert cli.main(["scan", "--config", str(config)]) == 0

    assert expected.is_file()
    assert list(cwd.iterdir()) == []


def test_an_unusable_home_is_one_clear_configuration_error(
    tmp_path: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_policies(tmp_path / "policies", image="ghcr.io/org/app", automations={})
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("IMAGEBOT_HOME", str(tmp_path / "file" / "home"))

    assert cli.main(["--log-format", "text", "scan", "--config", str(config)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"imagebot: configuration error: imagebot's home {tmp_path}/file/home ($IMAGEBOT_HOME) is not "
                   "writable: not a directory; set IMAGEBOT_HOME to a writable directory (or pass --state and "
                   "--workdir)\n")
