"""A corrupted state file: the run stops with one line that names the file and the way out,
and ``--reset-state`` moves the file aside (kept, not deleted) and starts a new store, after which
runs work again without the flag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
