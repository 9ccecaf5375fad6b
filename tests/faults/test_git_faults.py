"""Git remote faults with real processes: ``imagebot run`` (a child process) pushing over smart
HTTP to ``git http-backend``, whose remote refuses (a ``pre-receive`` hook), hangs (the request is
held at the server and never answered) or races (another writer pushes between imagebot's fetch
and its push, timed by holding imagebot's push at the server, not by sleeping).

After each: every repository was scanned, nothing is half-written, and the next run (or the same
run, for a race) lands every change exactly once.
"""

from __future__ import annotations

import subprocess

import pytest

from testing.gitrepos import git
from tests.faults.fleet import Fleet

pytestmark = pytest.mark.integration


def all_scanned(fleet: Fleet) -> None:
    scanned = fleet.scanned()
    assert {k: (s.error, s.tag_count) for k, s in scanned.items()} == {
        "a1": (None, 2), "a2": (None, 2), "b1": (None, 2)}


def then_completes(fleet: Fleet) -> None:
    done = fleet.run()
    assert done.returncode == 0, done.stdout + done.stderr
    fleet.assert_converged(commits=1)
    again = fleet.run()
    assert again.returncode == 0 and "nothing to change" in again.stdout, again.stdout + again.stderr
    fleet.assert_converged(commits=1)


def test_remote_refusing_the_push(fleet: Fleet) -> None:
    hook = fleet.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'frozen: no deploys today' >&2\nexit 1\n")
    hook.chmod(0o755)

    done = fleet.run()

    assert done.returncode == 1, done.stdout + done.stderr
    assert "frozen: no deploys today" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    all_scanned(fleet)
    fleet.assert_intact()
    assert fleet.commits() == ["initial"]
    hook.unlink()
    then_completes(fleet)


@pytest.mark.parametrize("stage", ["fetch", "push"])
def test_remote_hanging(fleet: Fleet, stage: str) -> None:
    """The server accepts the request and never answers; the GitRepository's 10 s timeout ends it."""
    service = "git-upload-pack" if stage == "fetch" else "git-receive-pack"
    gate = fleet.remote.hold(rf"^GET /gitops.git/info/refs\?service={service}")

    done = fleet.run()

    gate.release("drop")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{fleet.remote.url('gitops.git')}" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    all_scanned(fleet)
    fleet.assert_intact()
    assert fleet.commits() == ["initial"]
    then_completes(fleet)


def test_another_writer_pushes_between_fetch_and_push(fleet: Fleet) -> None:
    gate = fleet.remote.hold(r"^POST /gitops.git/git-receive-pack")
    process = fleet.start()
    gate.wait_arrived()
    human = fleet.root / "human"
    git("clone", "-q", str(fleet.bare), str(human), cwd=fleet.root, env=fleet.genv)
    (human / "README.md").write_text("fleet, edited by a human\n")
    git("commit", "-q", "-am", "human edit", cwd=human, env=fleet.genv)
    git("push", "-q", "origin", "main", cwd=human, env=fleet.genv)
    gate.release("forward")  # imagebot's push now names a stale old value: rejected
    out, err = process.communicate(timeout=180)

    done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert done.returncode == 0, out + err
    fleet.assert_intact()
    assert fleet.commits() == ["imagebot: update images", "human edit", "initial"]
    assert sorted(fleet.introduced()) == [("a1", "1.1.0"), ("a2", "1.1.0"), ("b1", "1.1.0")]
    assert git("show", "main:README.md", cwd=fleet.bare, env=fleet.genv) == "fleet, edited by a human\n"
    again = fleet.run()
    assert again.returncode == 0 and "nothing to change" in again.stdout, again.stdout + again.stderr
    assert fleet.commits() == ["imagebot: update images", "human edit", "initial"]
