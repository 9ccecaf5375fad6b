"""Atomic replacement leaves no temp file behind, and removes only temp files provably its own.

A temp file is ``.<name>.<pid>.<random>.imagebot``; one whose writer no longer exists (a run
killed between write and rename) is removed by the next write of that file. Files of a live
process, of other names, or that are not regular files are never touched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from imagebot import setters
from imagebot.setters._write import replace_file


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_replace_leaves_no_temp_file_and_removes_stale_ones(tmp_path: Path) -> None:
    target = tmp_path / "app.yaml"
    target.write_text("old\n")
    gone = dead_pid()
    stale = tmp_path / f".app.yaml.{gone}.x1y2z3.imagebot"
    stale.write_text("half\n")
    live = tmp_path / ".app.yaml.1.a1b2c3.imagebot"  # pid 1 exists: not provably stale
    live.write_text("busy\n")
    other = tmp_path / f".other.yaml.{gone}.q9w8e7.imagebot"  # another file's: left to its own write
    other.write_text("x\n")
    link = tmp_path / f".app.yaml.{gone}.l1n2k3.imagebot"
    link.symlink_to(target)

    replace_file(target, b"new\n")

    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["app.yaml", live.name, other.name, link.name]
    )


def test_remove_stale_in_directories(tmp_path: Path) -> None:
    gone = dead_pid()
    (tmp_path / f".a.yaml.{gone}.abc.imagebot").write_text("x\n")
    (tmp_path / "a.yaml.imagebot").write_text("not a temp file name\n")

    removed = setters.remove_stale([tmp_path, tmp_path / "missing"])

    assert [p.name for p in removed] == [f".a.yaml.{gone}.abc.imagebot"]
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml.imagebot"]
