"""Push to a remote on the local file system (a path or ``file://``) through ``git receive-pack``.

libgit2's local transport writes objects and refs straight into the remote repository: it runs
none of the remote's ``pre-receive``/``update`` hooks (a hook refusing every push was bypassed,
issue 8) and overwrites the ref without compare-and-swap (two pushers could drop each other's
commit). The git CLI's local transport runs the remote's own ``git receive-pack``: hooks run,
and every ref is updated in a transaction that checks the old value under git's ``<ref>.lock``.
Called by :meth:`imagebot.git.Workspace.push` for local remotes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pygit2

from imagebot import errors
from imagebot.git._directpush import push_direct
from imagebot.git._urls import redact

__all__ = ["local_path", "push_local", "unshallow"]

# variables that would point the CLI at another repository, index or object store
_REPO_VARIABLES = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES",
)


def local_path(url: str) -> Path:
    return Path(unquote(urlsplit(url).path)) if url.startswith("file://") else Path(url)


def push_local(
    git_dir: Path,
    url: str,
    specs: Sequence[tuple[str, str]],
    *,
    lease: str | None,
    options: Sequence[str] = (),
    timeout: float | None = None,
) -> tuple[dict[str, str], str]:
    """Push each (``src`` sha or ref, ``dst`` ref) of ``specs`` from ``git_dir`` to ``url``.

    Fast-forward only, unless ``lease`` names the sha every ``dst`` must still be at (``""``: must
    not exist). Returns ``dst`` → the remote's reason for each ref it refused (hooks, lost races),
    and what the remote printed (``remote: …`` lines: a refusing hook's explanation).
    """
    if shutil.which("git") is None:  # imagebot's container image has no git CLI
        with map_lock_errors(url):
            push_direct(git_dir, local_path(url), specs, lease=lease)
        return {}, ""
    command = ["git", "--git-dir", str(git_dir), "push", "--porcelain", "--no-verify"]
    command += [f"--push-option={option}" for option in options]
    if lease is not None:
        command += [f"--force-with-lease={dst}:{lease}" for _, dst in specs]
    command += [url, *(f"{src}:{dst}" for src, dst in specs)]
    done = _git(command, "push", url, timeout)
    refused: dict[str, str] = {}
    reported = False
    for line in done.stdout.splitlines():
        flag, tab, rest = line.partition("\t")
        if not tab:
            continue
        reported = True
        refspec, _, summary = rest.partition("\t")
        if flag == "!":
            dst = refspec.rpartition(":")[2]
            refused[dst] = summary.partition("(")[2].rstrip(")") or summary
    if done.returncode != 0 and not reported:
        detail = " ".join(line.strip() for line in done.stderr.splitlines() if line.strip())[:500]
        raise errors.GitError(f"git push {redact(url)} failed: {redact(detail)}")
    said = "\n".join(line for line in done.stderr.splitlines() if line.startswith("remote:"))
    return refused, said


def unshallow(git_dir: Path, url: str, refspec: str, *, timeout: float | None = None) -> None:
    """``git fetch --unshallow`` of ``refspec`` from a local ``url`` (libgit2 cannot)."""
    if shutil.which("git") is None:
        raise errors.GitError(f"{git_dir}: a shallow clone of a local remote needs the git CLI to fetch the "
                              "whole history (git fetch --unshallow)")
    command = ["git", "--git-dir", str(git_dir), "fetch", "--quiet", "--no-tags", "--unshallow", url, refspec]
    done = _git(command, "fetch", url, timeout)
    if done.returncode != 0:
        detail = " ".join(line.strip() for line in done.stderr.splitlines() if line.strip())[:500]
        raise errors.GitError(f"git fetch --unshallow {redact(url)} failed: {redact(detail)}")


def _git(command: list[str], verb: str, url: str, timeout: float | None) -> subprocess.CompletedProcess[str]:
    """Run the git CLI outside any repository the environment names, with no prompt, in the C locale."""
    env = {k: v for k, v in os.environ.items() if k not in _REPO_VARIABLES}
    env |= {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise errors.GitUnavailable(f"git {verb} {redact(url)}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise errors.GitError(f"git {verb} {redact(url)}: cannot run git: {exc.strerror or exc}") from None


@contextlib.contextmanager
def map_lock_errors(url: str) -> Iterator[None]:
    """A ref lock held by another pusher is a lost race (retry), as receive-pack reports it."""
    try:
        yield
    except pygit2.GitError as exc:
        if "lock" in str(exc).lower():
            raise errors.PushRejected(f"git push {redact(url)}: failed to update ref: {exc}") from None
        raise
