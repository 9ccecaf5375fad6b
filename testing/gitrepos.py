"""Bare repositories and a hermetic ``git`` CLI for tests and benchmarks.

``git_env(home)`` is an environment in which the machine's git configuration cannot leak in
(``GIT_CONFIG_GLOBAL`` in a temp dir, no system config, fixed author/committer);
``make_bare(path, files)`` builds a served bare repository with one commit on ``main``.
Used by :mod:`testing.gitserver`, ``tests/git`` and ``benchmarks/publish.py``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

__all__ = ["git", "git_env", "make_bare", "write_files"]

HUMAN = ("Human Dev", "human@example.com")


def git_env(home: Path, *, name: str = HUMAN[0], email: str = HUMAN[1]) -> dict[str, str]:
    """An environment for the git CLI that ignores ``~/.gitconfig`` and ``/etc/gitconfig``."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / ".gitconfig"
    if not config.exists():
        config.write_text('[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n')
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    return keep | {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(config),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def git(*args: str, cwd: Path, env: Mapping[str, str], check: bool = True) -> str:
    """Run ``git args…`` in ``cwd``; stdout as text. Raises with git's stderr on failure."""
    done = subprocess.run(["git", *args], cwd=cwd, env=dict(env), capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def write_files(root: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def make_bare(
    path: Path,
    files: Mapping[str, str | bytes],
    *,
    env: Mapping[str, str],
    branch: str = "main",
    tags: tuple[str, ...] = (),
) -> Path:
    """A bare repo at ``path`` with ``files`` in one commit on ``branch`` (``tags`` on it).

    Configured for serving: pushes over smart HTTP allowed, push options advertised.
    """
    seed = path.with_name(path.name + ".seed")
    seed.mkdir(parents=True)
    git("init", "-q", "-b", branch, cwd=seed, env=env)
    write_files(seed, files)
    git("add", "-A", cwd=seed, env=env)
    git("commit", "-q", "-m", "initial", cwd=seed, env=env)
    for tag in tags:
        git("tag", tag, cwd=seed, env=env)
    git("clone", "-q", "--bare", str(seed), str(path), cwd=seed.parent, env=env)
    git("remote", "remove", "origin", cwd=path, env=env)
    for key, value in (("http.receivepack", "true"), ("receive.advertisePushOptions", "true")):
        git("config", key, value, cwd=path, env=env)
    return path
