"""The CLI as a Unix tool: global flags on either side of the command, and closed pipes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from imagebot import cli

ROOT = Path(__file__).resolve().parent.parent


def _many_markers(tmp_path: Path, count: int = 3000) -> Path:
    (tmp_path / ".git").mkdir()
    lines = [f'f{i}: redis:7.0 # {{"$imagepolicy": "flux-system:redis-{i}"}}\n' for i in range(count)]
    (tmp_path / "values.yaml").write_text("".join(lines))
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["-v", "markers"], id="before"),
        pytest.param(["markers", "-v"], id="after"),
        pytest.param(["--log-format", "text", "-q", "markers"], id="option-with-value-before"),
    ],
)
def test_global_flags_before_or_after_the_command(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _many_markers(tmp_path, 1)
    assert cli.main([*argv, str(root)]) == 0
    assert "values.yaml:1" in capsys.readouterr().out


def test_flags_before_the_command_are_not_reset_by_the_command() -> None:
    parser = cli.build_parser(["-vv", "--log-format", "json", "scan"])
    args = parser.parse_args(["-vv", "--log-format", "json", "scan"])
    assert (args.verbose, args.log_format, args.quiet) == (2, "json", False)
    args = parser.parse_args(["scan", "-q"])
    assert (args.verbose, args.log_format, args.quiet) == (0, "auto", True)


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # `imagebot markers . | head -2`: far more output than a pipe buffers, reader gone after 2 lines
    root = _many_markers(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "imagebot", "markers", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )
    assert process.stdout is not None and process.stderr is not None
    first = [process.stdout.readline() for _ in range(2)]
    process.stdout.close()
    err = process.stderr.read().decode()
    process.stderr.close()
    code = process.wait(timeout=60)
    assert all(b"values.yaml" in line for line in first)
    assert "Error" not in err and "internal error" not in err and "Exception" not in err
    assert code == 141  # what a shell shows for a tool ended by SIGPIPE
