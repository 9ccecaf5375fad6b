"""One format per stderr stream (issue 14): with JSON logs the commands' own stderr lines are JSON
objects too; with text logs everything is text; the demo writes no escape codes to a non-terminal."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from imagebot import cli

ROOT = Path(__file__).resolve().parent.parent
MARKED = 'image: redis:7.0 # {"$imagepolicy": "flux-system:redis"}\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.yaml").write_text(MARKED)
    (tmp_path / "bad.yaml").write_text(MARKED + "  x: [\n")
    return tmp_path


@pytest.mark.parametrize("flags", [pytest.param(["--log-format", "json"], id="json"),
                                   pytest.param([], id="auto-not-a-terminal")])
def test_json_logs_make_every_stderr_line_json(
    repo: Path, flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main([*flags, "set", "--policy", "flux-system:redis=redis:7.4.1",
                     "--policy", "flux-system:rediss=redis:7.4.1", str(repo)])
    assert code == 1
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    messages = {(e["level"], e["logger"]): e["message"] for e in entries}
    assert ("error", "imagebot.setters") in messages  # a log record: bad.yaml is not YAML
    assert any(level == "info" and "updated 1 field(s) in 1 file(s)" in message
               for (level, _), message in messages.items())
    assert any(level == "error" and "--policy flux-system:rediss matches no marker" in message
               for (level, _), message in messages.items())


def test_text_logs_are_text(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["set", "--log-format", "text", "--policy", "flux-system:redis=redis:7.4.1", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "{" not in err
    assert "ERROR imagebot.setters: bad.yaml:2: not valid YAML" in err
    assert "imagebot: updated 1 field(s) in 1 file(s); 1 file(s) could not be processed" in err


def test_the_demo_writes_no_escape_codes_to_a_non_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("demo", ROOT / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    demo.heading("1. what the registries hold")
    out = capsys.readouterr().out
    assert out == "\n# 1. what the registries hold\n"
