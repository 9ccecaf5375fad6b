"""One imagebot process at a time per clone: an exclusive ``flock`` on ``<clone>.lock``.

Two ``imagebot run`` processes for two automations of one GitRepository share the clone in
``--workdir``; without a lock one reset the work tree and index under the other (issue 8: an
update went missing while both said "committed"). :meth:`imagebot.git.Workspace.clone` takes the
lock before touching the clone and holds it until :meth:`~imagebot.git.Workspace.close`; a
second process waits, up to a bound, then fails with :class:`~imagebot.errors.WorkspaceBusy`
naming the clone and the holder's pid. The kernel releases a ``flock`` when its holder dies,
so a killed run never leaves the clone locked. The lock file is never removed (removing it
would let a waiter lock a file nobody else sees).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from imagebot import errors

__all__ = ["DEFAULT_LOCK_TIMEOUT", "WorkdirLock"]

DEFAULT_LOCK_TIMEOUT = 600.0
"""Seconds a run waits for another run's clone (a whole run of the other automation)."""

_POLL = 0.05


class _Held:
    """A lock file this process holds: the thread owning it may take it again (re-entrant)."""

    def __init__(self) -> None:
        self.rlock = threading.RLock()
        self.count = 0
        self.fd: int | None = None


_HELD: dict[Path, _Held] = {}
_HELD_GUARD = threading.Lock()


class WorkdirLock:
    """``lock = WorkdirLock.acquire(clone_path, timeout=60)`` … ``lock.release()``.

    Between processes: ``flock``. Within a process: a re-entrant lock per clone, so another
    thread waits too, while the thread that holds it may open the clone again.
    """

    def __init__(self, path: Path, held: _Held) -> None:
        self.path = path
        self._held: _Held | None = held

    @classmethod
    def acquire(cls, clone: Path, *, timeout: float = DEFAULT_LOCK_TIMEOUT) -> WorkdirLock:
        path = clone.with_name(clone.name + ".lock").absolute()
        with _HELD_GUARD:
            held = _HELD.setdefault(path, _Held())
        deadline = time.monotonic() + timeout
        if not held.rlock.acquire(timeout=max(timeout, 0)):
            raise errors.WorkspaceBusy(
                f"another run in this process is using the clone {clone}; gave up waiting after {timeout:g} s"
            )
        try:
            if held.count == 0:
                held.fd = _flock(clone, path, deadline, timeout)
            held.count += 1
        except BaseException:
            held.rlock.release()
            raise
        return cls(path, held)

    def release(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        held.count -= 1
        if held.count == 0 and held.fd is not None:
            fcntl.flock(held.fd, fcntl.LOCK_UN)
            os.close(held.fd)
            held.fd = None
        held.rlock.release()


def _flock(clone: Path, path: Path, deadline: float, timeout: float) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise errors.GitError(f"cannot lock {clone}: {exc.strerror or exc}") from None
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _read(fd)
                os.close(fd)
                raise errors.WorkspaceBusy(
                    f"another imagebot run ({holder}) is using the clone {clone}; "
                    f"gave up waiting after {timeout:g} s"
                ) from None
            time.sleep(_POLL)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
    return fd


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 64, 0).decode(errors="replace").strip() or "pid unknown"
    except OSError:
        return "pid unknown"
