"""Where publish left things: the pushed commit and the pull request that carries it.

Produced by :mod:`imagebot.git` (``Revision`` after a commit/push) and :mod:`imagebot.publish`
(``PullRequestRef`` after opening or updating a pull request); consumed by the pipeline, the
CLI report and sync.
"""

from __future__ import annotations

import dataclasses

__all__ = ["PullRequestRef", "Revision"]


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
