"""podman with imagebot's image store, for the container tests (``tests/integration/test_container_image.py``).

``build(base)`` builds the repository's Dockerfile on a base image; ``run_image(image, *args)``
runs it with the flags these machines need (host network, lowered ulimits); ``podman(*args)``
is ``scripts/podman``. The store is a cache under ``${XDG_CACHE_HOME:-~/.cache}/imagebot/container``
that outlives test sessions, so it is located from the environment as it was at import time,
before tests point ``HOME`` at a temporary directory.
"""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ROOT", "STORE", "make_base", "podman", "podman_env", "run_image"]

ROOT = Path(__file__).resolve().parents[1]
# read at import, before the autouse fixture points HOME at a temporary directory: the image
# store is a cache that outlives the test session
_ENV = dict(os.environ)
STORE = Path(_ENV.get("XDG_CACHE_HOME") or Path(_ENV.get("HOME", "/root")) / ".cache") / "imagebot" / "container"


def podman_env() -> dict[str, str]:
    return {**os.environ, "HOME": _ENV.get("HOME", "/root"), "XDG_CACHE_HOME": str(STORE.parent.parent)}


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``scripts/podman ARGS`` (the project's image store); output captured as text."""
    done = subprocess.run([str(ROOT / "scripts" / "podman"), *args], capture_output=True, text=True,
                          env=podman_env(), timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def run_flags() -> list[str]:
    # podman asks for more open files than a process without CAP_SYS_RESOURCE may set: ask for
    # what the hard limits allow (docs/container.md)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return ["run", "--rm", "--network", "host", "--ulimit", f"nofile={hard}:{hard}",
            "--ulimit", "nproc=32768:32768"]


def run_image(image: str, *args: str, flags: Sequence[str] = (), check: bool = False,
              ) -> subprocess.CompletedProcess[str]:
    return podman(*run_flags(), *flags, image, *args, check=check)


def make_base() -> str:
    """The local base image's name (``scripts/container-base`` makes it once; needs root)."""
    done = subprocess.run([str(ROOT / "scripts" / "container-base")], capture_output=True, text=True,
                          env=podman_env(), timeout=1200, check=False)
    if done.returncode != 0:
        raise AssertionError(f"scripts/container-base failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]
