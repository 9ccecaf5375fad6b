"""Where publish goes and where it left things: the base, the pushed commit, the pull requests.

Produced by :mod:`imagebot.git` (``Revision`` after a commit/push) and :mod:`imagebot.publish`
(``Target`` before the setters run, ``PullRequestRef`` after opening or updating a pull request,
``Published`` at the end); consumed by the pipeline, the CLI report and sync.
"""

from __future__ import annotations

import dataclasses

from imagebot.model.changes import ChangeSet

__all__ = ["Published", "PullRequestRef", "Revision", "Target"]


@dataclasses.dataclass(frozen=True, slots=True)
class Revision:
    """A commit on a branch: ``Revision(branch="main", sha="<40 hex>")``."""

    branch: str
    sha: str

    def __str__(self) -> str:
        return f"{self.branch}@{self.sha[:12]}"


@dataclasses.dataclass(frozen=True, slots=True)
class PullRequestRef:
    """A pull request on the forge; ``created`` is False when an open one was updated instead."""

    number: int
    url: str
    created: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """Where a change is published: the branch (None: a detached HEAD and no push branch) and
    the commit the setters run on and the change goes on top of."""

    branch: str | None
    sha: str


@dataclasses.dataclass(frozen=True, slots=True)
class Published:
    """What publish did: the last commit made or pushed (None: nothing to commit), the changes it
    holds (re-applied on the branch as it stood), and the pull requests opened or updated."""

    revision: Revision | None
    changes: ChangeSet
    pull_requests: tuple[PullRequestRef, ...] = ()
