"""The state file as a fault. Corrupted: the run stops with one line that names the file and the
way out, and ``--reset-state`` moves the file aside (kept, not deleted) and starts a new store,
after which runs work again without the flag. Locked by another process past ``--state-wait``:
the run goes on without recording, says so once, and keeps its results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.fleet import Fleet

REPOSITORY = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: app, namespace: flux-system}
spec: {image: 127.0.0.1:9/app, interval: 5m}
"""


def scan(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imagebot", "--log-format", "text", "scan", "--config", "policies",
         "--state", "state.db", "--digests", "none", *extra],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)


def test_a_corrupted_state_file_names_the_way_out_and_reset_state_rebuilds(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "repo.yaml").write_text(REPOSITORY)
    garbage = b"not a database " * 400
    (tmp_path / "state.db").write_bytes(garbage)

    refused = scan(tmp_path)
    assert refused.returncode == 2
    assert "state.db" in refused.stderr and "--reset-state" in refused.stderr
    assert (tmp_path / "state.db").read_bytes() == garbage  # nothing lost without being asked

    reset = scan(tmp_path, "--reset-state")
    assert reset.returncode == 1, reset.stderr  # the registry is unreachable, the store is fine
    kept = sorted(tmp_path.glob("state.db.bak-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == garbage
    assert "moved" in reset.stderr and kept[0].name in reset.stderr

    again = scan(tmp_path)
    assert again.returncode == 1, again.stderr
    assert "state store" not in again.stderr


@pytest.mark.integration
def test_a_state_file_locked_by_another_process_is_waited_for_then_the_run_goes_on(fleet: Fleet) -> None:
    """The lock outlasts ``--state-wait``: the run says so once, commits what it found (the scan's
    work is kept) and exits 1; once the lock is gone the next run records and changes nothing."""
    assert fleet.run().returncode == 0
    fleet.b.push_tags("team/b1", ["1.2.0"])
    holder = [sys.executable, "-c", "import sqlite3, sys\n"
              f"db = sqlite3.connect({str(fleet.state)!r}, isolation_level=None)\n"
              "db.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\nsys.stdin.read()\n"]
    with subprocess.Popen(holder, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as lock:
        assert lock.stdout is not None and lock.stdin is not None
        assert lock.stdout.readline() == "locked\n"
        try:
            done = fleet.run("--state-wait", "1")
        finally:
            lock.stdin.close()

    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    notes = [line for line in done.stderr.splitlines() if "locked by another process" in line]
    assert len(notes) == 1 and str(fleet.state) in notes[0] and "1 s" in notes[0], done.stderr
    assert fleet.introduced()[-1] == ("b1", "1.2.0")  # the run's work was kept
    fleet.assert_intact()
    assert fleet.scanned()["b1"].tag_count == 2  # nothing recorded while locked

    again = fleet.run()
    assert again.returncode == 0 and "nothing to change" in again.stdout, again.stdout + again.stderr
    assert fleet.scanned()["b1"].tag_count == 3
    assert fleet.introduced().count(("b1", "1.2.0")) == 1
