"""Push to a local repository without the git CLI — only when no hook could be bypassed.

Local pushes normally go through ``git receive-pack`` (:mod:`imagebot.git._localpush`), which runs
the remote's hooks. Where no ``git`` executable exists (imagebot's container image), a remote
with receive-side hooks is refused (pushing around a ``pre-receive`` hook is what issue 8
forbids); one without hooks gets its objects copied into its object database and each branch
moved in a ref transaction under the ``<ref>.lock`` receive-pack takes, checking fast-forward (or
the lease) against the locked value. Called by :func:`imagebot.git._localpush.push_local`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pygit2

from imagebot import errors

__all__ = ["push_direct"]

_RECEIVE_HOOKS = (
    "pre-receive", "update", "post-receive", "post-update", "reference-transaction", "proc-receive",
    "push-to-checkout",
)


def push_direct(git_dir: Path, remote: Path, specs: Sequence[tuple[str, str]], *, lease: str | None) -> None:
    """Move each remote ``dst`` to ``src`` (a sha); see the module docstring."""
    repo = pygit2.Repository(str(git_dir))
    target = pygit2.Repository(str(remote))
    hooks = _hooks(target)
    if hooks:
        raise errors.GitError(
            f"git push {remote}: the repository has {', '.join(hooks)} hook(s) and no git executable "
            "is installed to run them; refusing to push around them"
        )
    with target.transaction() as txn:
        for src, dst in specs:
            new = pygit2.Oid(hex=src) if len(src) == 40 else repo.revparse_single(src).id
            _copy_objects(repo, target, new)
            txn.lock_ref(dst)
            current = target.references.get(dst)
            old = current.target if current is not None else None
            assert old is None or isinstance(old, pygit2.Oid)
            _check(target, dst, old=old, new=new, lease=lease)
            txn.set_target(dst, new, message="push (imagebot)")


def _hooks(target: pygit2.Repository) -> list[str]:
    configured = target.config["core.hooksPath"] if "core.hooksPath" in target.config else None  # noqa: SIM401 - no .get
    directory = Path(target.path) / "hooks" if configured is None else Path(target.path, str(configured))
    return [name for name in _RECEIVE_HOOKS
            if (directory / name).is_file() and os.access(directory / name, os.X_OK)]


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
