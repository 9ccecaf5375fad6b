"""Helpers shared by the git tests: the bot's author, and the git CLI playing a human."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

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
