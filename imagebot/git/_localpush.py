"""Push to a remote on the local file system (a path or ``file://``) without losing commits.

libgit2's local transport checks fast-forward against the refs it read when it connected and
then *overwrites* the remote ref (``git_reference_create(..., force)``, no compare-and-swap), so
two concurrent pushers can silently drop each other's commit — the race test caught it. Here the
missing objects are copied straight into the remote's object database (no scratch ref, which a
concurrent ``ls-remote`` could see vanish mid-listing), and the branch itself is moved in a ref
transaction on the remote repository: lock (the same ``<ref>.lock`` git receive-pack takes),
check fast-forward (or the lease) against the *locked* value, set, unlock. Called by
:meth:`imagebot.git.Workspace.push` for local remotes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pygit2

from imagebot import errors

__all__ = ["local_path", "push_local"]


def local_path(url: str) -> Path:
    return Path(unquote(urlsplit(url).path)) if url.startswith("file://") else Path(url)


def push_local(
    repo: pygit2.Repository,
    url: str,
    specs: Sequence[tuple[str, str]],
    *,
    lease: str | None,
) -> None:
    """Move each remote ``dst`` to local ``src`` (``specs``: (src, dst)); fast-forward only,
    unless ``lease`` names the sha every ``dst`` must still be at (``""``: must not exist)."""
    target = pygit2.Repository(str(local_path(url)))
    with target.transaction() as txn:
        for src, dst in specs:
            new = repo.references[src].target
            assert isinstance(new, pygit2.Oid)
            _copy_objects(repo, target, new)
            txn.lock_ref(dst)
            current = target.references.get(dst)
            old = current.target if current is not None else None
            assert old is None or isinstance(old, pygit2.Oid)
            _check(target, dst, old=old, new=new, lease=lease)
            txn.set_target(dst, new, message="push (imagebot)")


def _copy_objects(repo: pygit2.Repository, target: pygit2.Repository, tip: pygit2.Oid) -> None:
    """Write every object reachable from ``tip`` that ``target`` lacks; stops where it has them."""
    pending = [tip]
    while pending:
        oid = pending.pop()
        if oid in target.odb:
            continue  # present: so is everything it reaches (git's connectivity invariant)
        kind, data = repo.odb.read(oid)
        target.odb.write(kind, data)
        obj = repo[oid]
        if isinstance(obj, pygit2.Commit):
            pending.append(obj.tree_id)
            pending.extend(obj.parent_ids)
        elif isinstance(obj, pygit2.Tree):
            pending.extend(entry.id for entry in obj if entry.type_str != "commit")  # not submodules
        elif isinstance(obj, pygit2.Tag):
            pending.append(obj.target)


def _check(
    target: pygit2.Repository, dst: str, *, old: pygit2.Oid | None, new: pygit2.Oid, lease: str | None
) -> None:
    if lease is not None:
        if (str(old) if old is not None else "") != lease:
            raise errors.PushRejected(f"{dst} is at {old}, expected {lease or 'no branch'}; not forcing")
    elif old is not None and old != new and not target.descendant_of(new, old):
        raise errors.PushRejected(f"git push: the remote refused {dst}: non-fast-forward (fetch first)")
