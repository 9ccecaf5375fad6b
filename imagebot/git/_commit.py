"""Stage work-tree changes and write one (optionally signed) commit on HEAD.

Called by :meth:`imagebot.git.Workspace.commit`. ``stage`` adds or removes exactly the given
paths, or every change below a directory; ``write_commit`` returns None when the staged tree
equals HEAD's (nothing to commit), so "no change → no commit" holds however the caller staged.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path

import pygit2
from pygit2.enums import FileStatus

from imagebot import errors
from imagebot.git import _signing
from imagebot.model import gitauth

__all__ = ["changed_under", "normalise", "stage", "write_commit"]

_GONE = FileStatus.WT_DELETED | FileStatus.INDEX_DELETED


def normalise(path: str) -> str:
    clean = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
    if clean == ".." or clean.startswith("../"):
        raise errors.GitError(f"path {path!r} is outside the repository")
    return "" if clean == "." else clean


def changed_under(repo: pygit2.Repository, prefix: str) -> list[str]:
    return sorted(
        path
        for path, flags in repo.status().items()
        if flags not in (FileStatus.CURRENT, FileStatus.IGNORED)
        and (not prefix or path == prefix or path.startswith(prefix + "/"))
    )


def stage(repo: pygit2.Repository, *, paths: Sequence[str] | None, under: str) -> None:
    """Stage ``paths`` (relative to the root), or every change below ``under`` when None."""
    workdir = Path(repo.workdir)
    index = repo.index
    candidates = [normalise(p) for p in paths] if paths is not None else changed_under(repo, normalise(under))
    for path in candidates:
        if (workdir / path).is_file() or (workdir / path).is_symlink():
            index.add(path)
        elif path in index:
            index.remove(path)
        elif paths is not None and not (workdir / path).exists():
            raise errors.GitError(f"cannot stage {path!r}: no such file in the work tree")
    index.write()


def write_commit(
    repo: pygit2.Repository,
    *,
    message: str,
    author: pygit2.Signature,
    signing_key: gitauth.SigningKey | None,
) -> pygit2.Oid | None:
    """Commit the index on top of HEAD and move HEAD (its branch, or a detached HEAD)."""
    tree = repo.index.write_tree()
    parents: list[str | pygit2.Oid] = []
    if not repo.head_is_unborn:
        head = repo.head.peel(pygit2.Commit)
        if head.tree_id == tree:
            return None
        parents = [head.id]
    if signing_key is None:
        oid = repo.create_commit(None, author, author, message, tree, parents)
    else:
        # pygit2's stub says Oid; the call returns the raw commit text (git-forge-tooling §3)
        payload = str(repo.create_commit_string(author, author, message, tree, parents))
        oid = repo.create_commit_with_signature(payload, _signing.sign(payload, signing_key))
    if repo.head_is_detached:
        repo.set_head(oid)
    else:
        # create_commit("HEAD", …) refuses when HEAD's tip moved underneath; set the ref instead
        branch = repo.references["HEAD"].target
        assert isinstance(branch, str)
        repo.references.create(branch, oid, force=True)
    return oid
