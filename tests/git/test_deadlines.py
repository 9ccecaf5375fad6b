"""Every network git operation has a deadline: a remote that accepts the TCP connection and then
never answers ends the operation with a temporary error naming the remote, instead of a hang.

The silent remote is a loopback socket that accepts and reads nothing (no real git server can be
made to stall like that); each operation runs in a thread so that a missing deadline fails the
test instead of hanging it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imagebot import errors
from imagebot.git import Workspace
from testing.gitrepos import git
from testing.silentserver import SilentServer


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


def outcome(operation: Callable[[], object]) -> BaseException | None:
    """Run ``operation`` in a thread; what it raised. A hang (no deadline) fails the test."""
    caught: list[BaseException] = []

    def run() -> None:
        try:
            operation()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            caught.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the git operation hung: no deadline"
    return caught[0] if caught else None


@pytest.mark.parametrize("scheme", ["http", "ssh"])
def test_clone_from_a_silent_remote_is_a_temporary_error(
    silent: SilentServer, scheme: str, tmp_path: Path
) -> None:
    url = silent.url(scheme, "fleet.git")

    error = outcome(lambda: Workspace.clone(url, workdir=tmp_path / "w", timeout=1.0))

    assert isinstance(error, errors.GitUnavailable), error
    assert isinstance(error, errors.TemporaryError)
    assert f"127.0.0.1:{silent.port}/fleet.git" in str(error)


def test_push_to_a_silent_remote_is_a_temporary_error(
    silent: SilentServer, tmp_path: Path, genv: dict[str, str]
) -> None:
    checkout = tmp_path / "checkout"
    git("init", "-q", "-b", "main", str(checkout), cwd=tmp_path, env=genv)
    (checkout / "README.md").write_text("fleet\n")
    git("add", "README.md", cwd=checkout, env=genv)
    git("commit", "-qm", "initial", cwd=checkout, env=genv)
    url = silent.url("http", "fleet.git")
    git("remote", "add", "origin", url, cwd=checkout, env=genv)
    ws = Workspace.open(checkout, timeout=1.0)

    error = outcome(lambda: ws.push("main"))

    assert isinstance(error, errors.GitUnavailable), error
    assert url in str(error)
