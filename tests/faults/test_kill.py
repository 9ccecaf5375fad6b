"""SIGKILL at every stage boundary of ``imagebot run`` (a real child process), then the next run.

No timing and no test hook in the package: the run is stopped from outside, at the request that
marks the boundary, held at the fault proxy in front of the real registry or at the git server
(:class:`testing.faultproxy.Gate`); once the request is held the process is killed.

| boundary | held request | what is done by then |
| --- | --- | --- |
| scan | ``GET /v2/team/a2/tags/list`` | part of the scan |
| scan → policy | the clone's or fetch's ``info/refs?service=git-upload-pack`` | the scan, recorded in the state file |
| policy → setters | ``HEAD`` of a selected tag's manifest (its digest) | policies evaluated |
| setters → commit → push | ``info/refs?service=git-receive-pack`` | files edited, the commit built |
| mid-push | ``POST git-receive-pack`` before ``git http-backend`` runs (then discarded) | the pack sent |
| pushed, unrecorded | ``POST git-receive-pack`` after ``git http-backend`` ran (answer never sent) | the remote's branch moved |

After the kill nothing is half-written (state file, clone, remote: :meth:`Fleet.assert_intact`);
the next run completes the work and the remote ends with exactly one commit holding every change
("cold": the kill is in the first run, which clones; "warm": a clone exists, from a ``plan``, and
is fetched into).
"""

from __future__ import annotations

import subprocess

import pytest

from testing.faultproxy import Gate, Outcome
from tests.faults.fleet import Fleet

pytestmark = pytest.mark.integration

UPLOAD = r"^GET /gitops.git/info/refs\?service=git-upload-pack"
RECEIVE = r"^GET /gitops.git/info/refs\?service=git-receive-pack"
PACK = r"^POST /gitops.git/git-receive-pack"


def hold(fleet: Fleet, boundary: str) -> tuple[Gate, Outcome]:
    """The gate marking ``boundary``, and how to release it after the kill."""
    if boundary == "scan":
        return fleet.proxy.hold(r"^GET /v2/team/a2/tags/list"), "forward"
    if boundary == "scan-policy":
        return fleet.remote.hold(UPLOAD), "drop"
    if boundary == "policy-setters":
        return fleet.proxy.hold(r"^HEAD /v2/team/a\d/manifests/"), "forward"
    if boundary == "commit-push":
        return fleet.remote.hold(RECEIVE), "drop"
    if boundary == "mid-push":
        return fleet.remote.hold(PACK), "drop"
    assert boundary == "pushed-unrecorded"
    return fleet.remote.hold(PACK, after=True), "drop"


CASES = [pytest.param(boundary, False, id=f"{boundary}-cold") for boundary in (
    "scan", "scan-policy", "policy-setters", "commit-push", "mid-push", "pushed-unrecorded")] + [
    # with a clone in place, the fetch replaces the clone and the push starts from a fetched head
    pytest.param(boundary, True, id=f"{boundary}-warm") for boundary in ("scan-policy", "pushed-unrecorded")]


@pytest.mark.parametrize(("boundary", "warm"), CASES)
def test_sigkill_at_a_stage_boundary_then_the_next_run_commits_exactly_once(
    fleet: Fleet, boundary: str, warm: bool,
) -> None:
    if warm:
        planned = subprocess.run([*fleet.argv()[:5], "plan", *fleet.argv()[6:]], env=fleet.env(),
                                 capture_output=True, text=True, timeout=180, check=False)
        assert planned.returncode == 0, planned.stdout + planned.stderr
    gate, then = hold(fleet, boundary)
    process = fleet.start()
    try:
        gate.wait_arrived()
    finally:
        process.kill()  # SIGKILL: no handler, no clean-up, no atexit
        process.communicate(timeout=60)
        gate.release(then)
    assert process.returncode == -9

    fleet.assert_intact()
    moved = fleet.commits() != ["initial"]
    assert moved == (boundary == "pushed-unrecorded")

    done = fleet.run()

    assert done.returncode == 0, done.stdout + done.stderr
    assert ("nothing to change" in done.stdout) == moved, done.stdout
    fleet.assert_converged(commits=1)
    assert set(fleet.scanned()) == {"a1", "a2", "b1"}
    again = fleet.run()
    assert again.returncode == 0 and "nothing to change" in again.stdout, again.stdout + again.stderr
    fleet.assert_converged(commits=1)
