"""Stopping a child process the test bed or a benchmark started: SIGTERM, then SIGKILL."""

from __future__ import annotations

import subprocess

__all__ = ["stop"]


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Ask ``process`` to end (SIGTERM) and wait ``timeout`` seconds, then kill it; a process that
    already ended is left alone."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
