"""Registry faults with real processes: ``imagebot run`` (a child process) against two real
``docker-registry`` processes, registry A broken while B stays healthy.

After each fault: the run exits 1 naming what failed, B's repository was scanned and its change
committed, nothing is half-written; once the fault is gone, the next run commits the rest, and
every change is on the remote exactly once. Faults a real registry cannot produce (5xx, 429, a
dripping or endless body) come from the fault proxy in front of the real registry A; killing A
mid-listing or mid-digests is timed by holding the request at the proxy, not by sleeping.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from testing.certs import make_tls
from testing.faultproxy import Answer, Drip, Endless
from tests.faults.conftest import FleetFactory
from tests.faults.fleet import Fleet

pytestmark = pytest.mark.integration

LIST_A1 = r"^GET /v2/team/a1/tags/list"
LIST_A = r"^GET /v2/team/a\d/tags/list"


def first_run_fails_on_a(fleet: Fleet, done: subprocess.CompletedProcess[str], *failed: str,
                         maybe: tuple[str, ...] = ()) -> None:
    """The fault's run: exit 1, the failed repositories named, the others scanned and committed
    (``maybe``: a repository of the broken registry whose request may come before or after the
    fault, on a loaded machine)."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    scanned = fleet.scanned()
    failed = (*failed, *(name for name in maybe if scanned[name].error))
    assert set(scanned) == {"a1", "a2", "b1"}
    for name in ("a1", "a2", "b1"):
        if name in failed:
            assert scanned[name].error, name
            assert f"faults/{name}" in done.stdout + done.stderr
        else:
            assert scanned[name].error is None and scanned[name].tag_count == 2, scanned[name]
    fleet.assert_intact()
    assert sorted(fleet.introduced()) == sorted((n, "1.1.0") for n in ("a1", "a2", "b1") if n not in failed)


def next_run_completes(fleet: Fleet, *, commits: int = 2) -> None:
    """After the fault: every change on the remote once, in ``commits`` commits."""
    done = fleet.run()
    assert done.returncode == 0, done.stdout + done.stderr
    fleet.assert_converged(commits=commits)
    again = fleet.run()
    assert again.returncode == 0 and "nothing to change" in again.stdout, again.stdout + again.stderr
    fleet.assert_converged(commits=commits)


def kill(fleet: Fleet) -> None:
    assert fleet.a.pid is not None
    os.kill(fleet.a.pid, signal.SIGKILL)


def test_registry_killed_mid_listing(fleet: Fleet) -> None:
    gate = fleet.proxy.hold(r"^GET /v2/team/a2/tags/list")
    process = fleet.start()
    gate.wait_arrived()
    kill(fleet)
    gate.release("forward")  # to a dead registry: the connection is cut
    out, err = process.communicate(timeout=180)

    first_run_fails_on_a(fleet, subprocess.CompletedProcess(process.args, process.returncode, out, err), "a2",
                         maybe=("a1",))
    fleet.a.restart()
    next_run_completes(fleet)


def test_registry_killed_mid_digests(fleet: Fleet) -> None:
    """The scan listed every tag; the registry dies while the selected tags' digests are looked
    up. Tag markers need no digest: the change is written, with one warning per repository."""
    gate = fleet.proxy.hold(r"^HEAD /v2/team/a\d/manifests/", times=2)  # a1's and a2's selected tag
    process = fleet.start()
    gate.wait_arrived(2)  # both held: neither may be answered before the registry dies
    kill(fleet)
    gate.release("forward")
    _, err = process.communicate(timeout=180)

    assert process.returncode == 0, err
    assert "Traceback" not in err
    warnings = [line for line in err.splitlines() if "no digest for" in line]
    assert len(warnings) == 2 and {"team/a1" in w for w in warnings} == {True, False}, warnings
    assert all(s.error is None for s in fleet.scanned().values())
    fleet.assert_converged(commits=1)
    fleet.a.restart()
    again = fleet.run()
    assert again.returncode == 0 and "nothing to change" in again.stdout, again.stdout + again.stderr
    fleet.assert_converged(commits=1)


def test_5xx_storm_gets_a_bounded_number_of_requests(fleet: Fleet) -> None:
    fleet.proxy.on(r"^GET /v2/", Answer(503, {"Content-Type": "text/plain"}, b"upstream overloaded"))

    first_run_fails_on_a(fleet, fleet.run(), "a1", "a2")
    assert len(fleet.proxy.requests) <= 20, fleet.proxy.requests

    fleet.proxy.clear()
    next_run_completes(fleet)


@pytest.mark.parametrize("headers", [pytest.param({"Retry-After": "1"}, id="retry-after"),
                                     pytest.param({}, id="no-retry-after")])
def test_429_then_success_completes_in_the_same_run(fleet: Fleet, headers: dict[str, str]) -> None:
    fleet.proxy.on(LIST_A1, Answer(429, headers, b"Too Many Requests"), times=2)

    done = fleet.run()

    assert done.returncode == 0, done.stdout + done.stderr
    assert fleet.proxy.seen(LIST_A1) == 3
    fleet.assert_converged(commits=1)


def test_429_with_a_long_retry_after_blocks_that_registry_for_the_run(fleet: Fleet) -> None:
    fleet.proxy.on(r"^GET /v2/.+/tags/list", Answer(429, {"Retry-After": "3600"}))

    first_run_fails_on_a(fleet, fleet.run(), "a1", "a2")

    fleet.proxy.clear()
    next_run_completes(fleet)


def test_slow_drip_body_hits_the_request_deadline(fleet: Fleet) -> None:
    fleet.proxy.on(LIST_A1, Drip(every=0.2))

    first_run_fails_on_a(fleet, fleet.run(), "a1")

    fleet.proxy.clear()
    next_run_completes(fleet)


def test_endless_body_is_capped(fleet: Fleet) -> None:
    fleet.proxy.on(LIST_A1, Endless())

    first_run_fails_on_a(fleet, fleet.run(), "a1")

    fleet.proxy.clear()
    next_run_completes(fleet)


def test_token_server_down(make_fleet: FleetFactory) -> None:
    fleet = make_fleet(mode="token", proxied=False)
    token_server = fleet.a.token_server
    assert token_server is not None
    token_server.stop()

    done = fleet.run()

    first_run_fails_on_a(fleet, done, "a1", "a2")
    assert "token" in done.stdout + done.stderr
    token_server.start()
    next_run_completes(fleet)


CA = "  certSecretRef: {name: registry-ca}\n"
HINTS = {
    "wrong-ca": "set certSecretRef with the CA that signed it",
    "expired": "the registry's certificate has expired",
    "hostname-mismatch": "the certificate is not issued for 127.0.0.1",
}


def trust(fleet: Fleet, ca: Path) -> None:
    (fleet.secrets / "registry-ca").mkdir(parents=True, exist_ok=True)
    (fleet.secrets / "registry-ca" / "ca.crt").write_bytes(ca.read_bytes())


@pytest.mark.parametrize("fault", ["wrong-ca", "expired", "hostname-mismatch"])
def test_tls_errors(make_fleet: FleetFactory, tmp_path: Path, fault: str) -> None:
    good = make_tls(tmp_path / "good")
    fleet = make_fleet(tls=good, proxied=False, a_extra=CA)  # seeded over good TLS
    if fault == "wrong-ca":
        trust(fleet, make_tls(tmp_path / "other").ca_cert)
    else:
        trust(fleet, good.ca_cert)
        fleet.a.tls = make_tls(tmp_path / fault, ca=good, expired=fault == "expired",
                               hosts=("registry.example",) if fault == "hostname-mismatch" else ("127.0.0.1",))
        fleet.a.restart()

    done = fleet.run()

    first_run_fails_on_a(fleet, done, "a1", "a2")
    line = next(line for line in done.stderr.splitlines() if line.startswith("imagebot: faults/a1: "))
    assert "TLS certificate" in line
    assert HINTS[fault] in line
    if fault != "wrong-ca":  # certSecretRef is set and right: asking for it misleads
        assert "set certSecretRef" not in line
    trust(fleet, good.ca_cert)
    fleet.a.tls = good
    fleet.a.restart()
    next_run_completes(fleet)
