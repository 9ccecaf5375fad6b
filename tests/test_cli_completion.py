"""Shell completion generated from the argument parser (issue 14): bash and fish scripts are run
in the real shells and asked for completions; the zsh script must parse (zsh -n) and describe
every command. scripts/bootstrap installs zsh and fish."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from imagebot import cli
from imagebot.commands import COMMANDS


def _script(shell: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    assert cli.main(["completion", shell]) == 0
    path = tmp_path / f"imagebot.{shell}"
    path.write_text(capsys.readouterr().out)
    return path


def _bash_complete(script: Path, *words: str) -> list[str]:
    program = (
        f"source {script}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in ('imagebot', *words))}); COMP_CWORD={len(words)}\n"
        "_imagebot; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return sorted(line for line in done.stdout.splitlines() if line)


def test_bash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script("bash", capsys, tmp_path)
    assert _bash_complete(script, "") == sorted(
        [*COMMANDS, "-h", "--help", "--version", "-v", "--verbose", "-q", "--quiet", "--log-format"])
    assert _bash_complete(script, "va") == ["validate"]
    assert _bash_complete(script, "-v", "scan", "--dig") == ["--digests"]
    assert _bash_complete(script, "scan", "--digests", "") == ["all", "new", "none", "selected"]
    assert _bash_complete(script, "--log-format", "json", "set", "--allow") == ["--allow-unmatched"]
    assert _bash_complete(script, "policy", "") == sorted(
        ["test", "-h", "--help", "-v", "--verbose", "-q", "--quiet", "--log-format"])
    assert _bash_complete(script, "policy", "test", "--ex") == ["--explain"]
    assert "bash" in _bash_complete(script, "completion", "")
    (tmp_path / "policies").mkdir()
    assert str(tmp_path / "policies") in _bash_complete(script, "validate", "--config", str(tmp_path / "pol"))


def test_fish(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script("fish", capsys, tmp_path)

    def complete(line: str) -> list[str]:
        done = subprocess.run(["fish", "--no-config", "-c", f"source {script}; complete -C '{line}'"],
                              capture_output=True, text=True, check=True)
        return sorted(entry.split("\t")[0] for entry in done.stdout.splitlines())

    assert complete("imagebot val") == ["validate"]
    assert complete("imagebot scan --digests ") == ["all", "new", "none"]
    assert complete("imagebot policy ") == ["test"]
    assert complete("imagebot completion ") == ["bash", "fish", "zsh"]
    assert "--allow-unmatched" in complete("imagebot set --al")


def test_zsh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script("zsh", capsys, tmp_path)
    subprocess.run(["zsh", "-n", str(script)], check=True)
    text = script.read_text()
    assert text.startswith("#compdef imagebot\n")
    for name in COMMANDS:
        assert f"'{name}:" in text
    assert "(--log-format) compadd -- auto text json; return ;;" in text
