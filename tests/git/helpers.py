"""Helpers shared by the git tests: the bot's author, and the git CLI playing a human."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import pygit2
from pygit2.enums import FileStatus

from imagebot.git import Workspace
from testing.gitrepos import git, write_files
from tests.git.conftest import Remote


class Author(TypedDict):
    author_name: str
    author_email: str


AUTHOR: Author = {"author_name": "imagebot", "author_email": "bot@example.com"}


def remote_subjects(bare: Path, env: dict[str, str], branch: str = "main") -> list[str]:
    return git("log", "--format=%s", branch, cwd=bare, env=env).split("\n")[:-1]


def human_commit(remote: Remote, tmp: Path, env: dict[str, str], files: dict[str, str], message: str) -> str:
    """Clone with the git CLI, commit ``files``, push; the new sha."""
    clone = tmp / f"human-{message.replace(' ', '-')}"
    git("clone", "-q", remote.cli_url, str(clone), cwd=tmp, env=env)
    write_files(clone, files)
    git("commit", "-qam", message, cwd=clone, env=env)
    git("push", "-q", "origin", "HEAD", cwd=clone, env=env)
    return git("rev-parse", "HEAD", cwd=clone, env=env).strip()


def write_hook(bare: Path, name: str, body: str) -> None:
    hook = bare / "hooks" / name
    hook.write_text("#!/bin/sh\n" + body)
    hook.chmod(0o755)


def worktree_files(ws: Workspace, *paths: str, under: str = "") -> dict[str, bytes | None]:
    """The bytes of ``paths`` in ``ws``'s work tree (default: every file that differs from HEAD
    below ``under``), as :meth:`Workspace.commit` takes them — the tests' stand-in for the setters."""
    repo = pygit2.Repository(str(ws.path))
    if not paths:
        paths = tuple(
            path for path, flags in repo.status().items()
            if flags not in (FileStatus.CURRENT, FileStatus.IGNORED) and path.startswith(under)
        )
    return {path: (ws.path / path).read_bytes() if (ws.path / path).is_file() else None for path in paths}
