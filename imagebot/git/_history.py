"""History and reverts, built from objects: which commits touched a path, and what reverting them
gives.

Called by :meth:`imagebot.git.Workspace.log` and :meth:`~imagebot.git.Workspace.revert_files`
(for ``imagebot rollback``). Nothing here reads or writes the index or the work tree: a revert is
a chain of three-way tree merges (the reverted commit's tree as ancestor, the current tree as
ours, its parent's tree as theirs, as ``git revert`` does), and the result is handed back as
``path → bytes`` for :meth:`~imagebot.git.Workspace.commit`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence

import pygit2
from pygit2.enums import SortMode

from imagebot import errors
from imagebot.git import _commit
from imagebot.model.history import LoggedCommit

__all__ = ["log", "revert_files"]


def _entry_id(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    if not path:
        return tree.id
    try:
        return tree[path].id
    except KeyError:
        return None


def _logged(commit: pygit2.Commit) -> LoggedCommit:
    when = datetime.datetime.fromtimestamp(commit.author.time, datetime.UTC)
    return LoggedCommit(
        sha=str(commit.id), parents=tuple(str(p) for p in commit.parent_ids), message=commit.message,
        author_name=commit.author.name, author_email=commit.author.email, time=when,
    )


def _history(repo: pygit2.Repository, head: pygit2.Oid, stop: pygit2.Oid | None) -> Iterator[pygit2.Commit]:
    """Every commit reachable from ``head`` and not from ``stop``, children before parents."""
    walker = repo.walk(head, SortMode.TOPOLOGICAL | SortMode.TIME)
    if stop is not None:
        walker.hide(stop)
    for commit in walker:
        try:
            commit.parents  # noqa: B018 - a shallow clone's boundary has parents it does not hold
        except KeyError:
            raise errors.GitError(
                f"history ends at {commit.id} (a shallow clone); fetch the full history"
            ) from None
        yield commit


def log(repo: pygit2.Repository, sha: str, *, path: str, stop: str | None = None,
        limit: int = 10_000) -> list[LoggedCommit]:
    """Commits reachable from ``sha`` (not from ``stop``, which must be an ancestor) that changed
    something below ``path``, newest first, at most ``limit`` commits back. Merged branches count:
    an update merged by a pull request's merge commit sits on the merge's second parent. A merge
    is listed when it changed the path against its first parent."""
    path = _commit.normalise(path)
    head = repo.revparse_single(sha).peel(pygit2.Commit).id
    stop_id = repo.revparse_single(stop).peel(pygit2.Commit).id if stop else None
    if stop_id is not None and stop_id != head and not repo.descendant_of(head, stop_id):
        raise errors.GitError(f"{stop} is not an ancestor of {sha[:12]}")
    found: list[LoggedCommit] = []
    for count, commit in enumerate(_history(repo, head, stop_id)):
        if count >= limit:
            break
        here = _entry_id(commit.tree, path)
        before = _entry_id(commit.parents[0].tree, path) if commit.parent_ids else None
        if here != before:
            found.append(_logged(commit))
    return found


def _blobs(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str) -> dict[str, pygit2.Oid]:
    found: dict[str, pygit2.Oid] = {}
    start = tree
    if prefix:
        try:
            entry = tree[prefix]
        except KeyError:
            return found
        if entry.type_str != "tree":
            return {prefix: entry.id}
        start = repo[entry.id]  # type: ignore[assignment]

    def walk(node: pygit2.Tree, at: str) -> None:
        for child in node:
            name = f"{at}/{child.name}" if at else str(child.name)
            if child.type_str == "tree":
                walk(repo[child.id], name)  # type: ignore[arg-type]
            elif child.type_str == "blob":
                found[name] = child.id

    walk(start, prefix)
    return found


def revert_files(repo: pygit2.Repository, commits: Sequence[str], *, onto: str,
                 path: str) -> dict[str, bytes | None]:
    """The files below ``path`` that change when ``commits`` (newest first) are reverted on top of
    ``onto``: repository path → new bytes (None: removed). Changes outside ``path`` are left out.

    Raises :class:`~imagebot.errors.GitError` naming the files when a later change to the same
    lines makes a revert conflict (as ``git revert`` stops there too).
    """
    path = _commit.normalise(path)
    head = repo.revparse_single(onto).peel(pygit2.Commit)
    tree = head.tree
    for sha in commits:
        commit = repo.revparse_single(sha).peel(pygit2.Commit)
        if len(commit.parent_ids) != 1:
            raise errors.GitError(f"commit {sha[:12]} is a merge or a root commit; it cannot be reverted")
        index = repo.merge_trees(commit.tree, tree, commit.parents[0].tree)
        conflicts = sorted({
            entry.path for triple in (index.conflicts or ()) for entry in triple
            if entry is not None and (not path or entry.path == path or entry.path.startswith(path + "/"))
        })
        if conflicts:
            raise errors.GitError(
                f"reverting {sha[:12]} conflicts with later changes in {', '.join(conflicts)}; "
                "resolve it by hand or roll back to a later revision"
            )
        merged = {e.path: e.id for e in index if not path or e.path == path or e.path.startswith(path + "/")}
        now = _blobs(repo, tree, path)
        changes: dict[str, bytes | None] = {
            name: repo[oid].data for name, oid in merged.items()  # type: ignore[attr-defined]
            if now.get(name) != oid
        }
        changes.update({name: None for name in now if name not in merged})
        if changes:
            tree = repo[_commit.build_tree(repo, tree, changes)]  # type: ignore[assignment]
    before = _blobs(repo, head.tree, path)
    after = _blobs(repo, tree, path)
    result: dict[str, bytes | None] = {
        name: repo[oid].data for name, oid in after.items() if before.get(name) != oid  # type: ignore[attr-defined]
    }
    result.update({name: None for name in before if name not in after})
    return result
