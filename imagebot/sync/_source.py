"""The Git source of sync units: a checkout of each unit's repository at its revision.

The same workspace layer publish uses (:class:`imagebot.git.Workspace`): a clone per repository
URL under the work directory, reused between runs. With a local directory (``--repo DIR``) every
unit's ``path`` is read from that directory as it is, no checkout. Called by the sync commands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from imagebot import git
from imagebot.errors import GitError
from imagebot.model import gitauth
from imagebot.model.flux import GitRef
from imagebot.sync._units import SyncUnit

__all__ = ["Sources"]

logger = logging.getLogger("imagebot.sync")

AuthFor = Callable[[str], gitauth.GitAuth | None]


class Sources:
    """Check out units one after the other; a checkout is valid until the next one.

    ::

        sources = Sources(workdir=Path(".imagebot/git"))
        root, revision = sources.checkout(unit)   # render from root before the next checkout
    """

    def __init__(
        self, *, local: Path | None = None, workdir: Path | None = None, auth_for: AuthFor | None = None,
    ) -> None:
        self._local = local
        self._workdir = workdir
        self._auth_for = auth_for or (lambda url: None)
        self._current: tuple[str, GitRef] | None = None
        self._current_result: tuple[Path, str] | None = None
        self._local_revision: str | None = None

    def checkout(self, unit: SyncUnit) -> tuple[Path, str]:
        """``(root, revision)``: the directory the unit's ``path`` is relative to, and the commit."""
        return self.tree(unit.repo_url, unit.ref, what=unit.name)

    def tree(self, repo_url: str, ref: GitRef, *, what: str = "") -> tuple[Path, str]:
        """``(root, revision)`` of ``repo_url`` at ``ref`` (an ApplicationSet's git generator reads
        its repository this way); valid until the next checkout."""
        if self._local is not None:
            return self._local, self._revision_of_local()
        wanted = (repo_url, ref)
        if self._current == wanted and self._current_result is not None:
            return self._current_result
        workdir = self._workdir / git.default_workdir(repo_url).name if self._workdir else None
        auth = self._auth_for(repo_url)
        try:
            workspace = git.Workspace.clone(repo_url, ref=ref, auth=auth, workdir=workdir)
        except GitError:
            if not ref.branch:
                raise
            # Argo CD's targetRevision names a branch or a tag; a branch is tried first
            tag = GitRef(tag=ref.branch)
            logger.debug("%s: no branch %s, trying the tag", what or repo_url, ref.branch)
            workspace = git.Workspace.clone(repo_url, ref=tag, auth=auth, workdir=workdir)
        self._current, self._current_result = wanted, (workspace.path, workspace.head)
        workspace.close()  # the clone's lock (git.md "One run per clone"); the files stay
        return self._current_result

    def _revision_of_local(self) -> str:
        if self._local_revision is None:
            assert self._local is not None
            try:
                self._local_revision = git.Workspace.open(self._local).head
            except GitError:
                self._local_revision = "local"
        return self._local_revision
