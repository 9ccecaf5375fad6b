"""Commits as history readers see them, and the records a rollback leaves behind.

``LoggedCommit`` is produced by :meth:`imagebot.git.Workspace.log` and read by ``imagebot
rollback`` (which commits to revert). ``Rollback`` is what the rollback records in the state store
(:mod:`imagebot.state`) so that the pipeline does not propose a rolled-back tag again.
"""

from __future__ import annotations

import dataclasses
import datetime

from imagebot.model.ids import ObjectKey, Tag

__all__ = ["LoggedCommit", "Rollback"]


@dataclasses.dataclass(frozen=True, slots=True)
class LoggedCommit:
    """One commit of a branch's history."""

    sha: str
    parents: tuple[str, ...]
    message: str
    author_name: str
    author_email: str
    time: datetime.datetime

    @property
    def title(self) -> str:
        return self.message.strip().splitlines()[0] if self.message.strip() else ""


@dataclasses.dataclass(frozen=True, slots=True)
class Rollback:
    """An ImagePolicy's tag rolled back in Git: the policy holds until a newer tag appears."""

    policy: ObjectKey
    tag: Tag
    """The tag the reverted commit(s) had written; it and every tag ranked at or below it stay
    unproposed."""
    revision: str
    """``branch@sha`` of the revert commit, or the pull request's URL."""
    at: datetime.datetime
    application: str = ""
