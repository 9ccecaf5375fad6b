"""Build commits purely from objects: a parent's tree plus the blobs imagebot wrote.

Called by :meth:`imagebot.git.Workspace.commit`. The work tree and the index are never read
(nothing is ``git add``-ed): a commit holds exactly the files given, so an untracked ``.env``, an
unrelated edit or a half-written temp file can never end up in it (issue 8). ``write_commit``
returns None when the new tree equals the parent's (nothing to commit).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

import pygit2
from pygit2.enums import FileMode

from imagebot import errors
from imagebot.git import _signing
from imagebot.model import gitauth

__all__ = ["build_tree", "normalise", "write_commit"]


def normalise(path: str) -> str:
    clean = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
    if clean == ".." or clean.startswith("../"):
        raise errors.GitError(f"path {path!r} is outside the repository")
    return "" if clean == "." else clean


def build_tree(
    repo: pygit2.Repository, tree: pygit2.Tree | None, files: Mapping[str, bytes | None]
) -> pygit2.Oid:
    """``tree`` with each of ``files`` (path → new bytes, None: remove) written as a blob."""
    here: dict[str, bytes | None] = {}
    below: dict[str, dict[str, bytes | None]] = {}
    for path, data in files.items():
        head, sep, rest = path.partition("/")
        if sep:
            below.setdefault(head, {})[rest] = data
        else:
            here[head] = data
    builder = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
    for name, data in here.items():
        entry = tree[name] if tree is not None and name in tree else None
        if data is None:
            if entry is not None:
                builder.remove(name)
            continue
        executable = entry is not None and entry.filemode == FileMode.BLOB_EXECUTABLE
        mode = FileMode.BLOB_EXECUTABLE if executable else FileMode.BLOB
        builder.insert(name, repo.create_blob(data), mode)
    for name, changes in below.items():
        entry = tree[name] if tree is not None and name in tree else None
        subtree = repo[entry.id] if entry is not None and entry.type_str == "tree" else None
        assert subtree is None or isinstance(subtree, pygit2.Tree)
        oid = build_tree(repo, subtree, changes)
        if len(repo[oid]) == 0:  # type: ignore[arg-type]
            if entry is not None:
                builder.remove(name)
        else:
            builder.insert(name, oid, FileMode.TREE)
    return builder.write()


def write_commit(
    repo: pygit2.Repository,
    *,
    parent: pygit2.Commit | None,
    files: Mapping[str, bytes | None],
    message: str,
    author: pygit2.Signature,
    signing_key: gitauth.SigningKey | None,
) -> pygit2.Oid | None:
    """A new commit on ``parent`` holding ``files``; moves no ref. None when nothing changes."""
    clean = {normalise(path): data for path, data in files.items()}
    if any(not path for path in clean):
        raise errors.GitError("cannot commit the repository root as a file")
    tree = build_tree(repo, parent.tree if parent is not None else None, clean)
    if parent is not None and parent.tree_id == tree:
        return None
    parents: list[str | pygit2.Oid] = [parent.id] if parent is not None else []
    if signing_key is None:
        return repo.create_commit(None, author, author, message, tree, parents)
    # pygit2's stub says Oid; the call returns the raw commit text (git-forge-tooling §3)
    payload = str(repo.create_commit_string(author, author, message, tree, parents))
    return repo.create_commit_with_signature(payload, _signing.sign(payload, signing_key))
