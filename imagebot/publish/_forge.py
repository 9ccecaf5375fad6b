"""The ``Forge`` protocol (what publish needs from GitHub, GitLab, …) and ``open_or_update``.

A forge implements a few primitive pull-request operations; ``open_or_update`` composes them into
the idempotent step the pipeline calls after pushing the head branch: update the open pull request
for that branch, or create one, then apply the ``PullRequestSpec`` extras. Implemented by
:class:`imagebot.publish._github.GitHubForge` and by in-memory fakes in tests.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from imagebot import errors
from imagebot.model.pullrequests import MergeMethod, PullRequestSpec
from imagebot.model.revisions import PullRequestRef

__all__ = ["Forge", "open_or_update"]

logger = logging.getLogger("imagebot.publish")


class Forge(Protocol):
    """Pull-request primitives of one repository on one forge.

    Errors: ``ForgeError`` (permanent: permissions, validation, not found) and
    ``ForgeUnavailable`` (temporary: rate limits, 5xx after retries); nothing else escapes.
    """

    @property
    def repository(self) -> str:
        """``owner/name``, for messages."""
        ...

    def find_pull_request(self, head: str, *, base: str) -> PullRequestRef | None:
        """The open pull request from branch ``head`` into ``base`` (``created=False``), if any."""
        ...

    def create_pull_request(
            self, head: str, *, base: str, title: str, body: str, draft: bool,
    ) -> PullRequestRef:
        """Open a pull request (``created=True``). When one already exists for ``head`` (another run
        won the race) update its title and body and return it with ``created=False``."""
        ...

    def update_pull_request(self, number: int, *, title: str, body: str) -> PullRequestRef:
        ...

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        ...

    def request_reviewers(self, number: int, *, users: Sequence[str], teams: Sequence[str]) -> None:
        ...

    def enable_auto_merge(self, number: int, method: MergeMethod) -> bool:
        """Enable auto-merge; False when the repository (or the pull request's state) does not
        allow it — a normal outcome the caller reports, not an error."""
        ...


def open_or_update(
        forge: Forge, head: str, *, base: str, title: str, body: str, spec: PullRequestSpec,
) -> PullRequestRef:
    """Make sure exactly one open pull request carries ``head`` into ``base``, with this title/body.

    Example: ``open_or_update(forge, "imagebot/apps", base="main", title=t, body=b, spec=spec)``.

    Labels are added on every call (a no-op when present); reviewers and auto-merge are applied
    only when the pull request is created, so a human's later changes to them stick. Failures of
    those extras are logged as warnings (the pull request itself is in place); temporary errors
    propagate.
    """
    existing = forge.find_pull_request(head, base=base)
    if existing is not None:
        ref = forge.update_pull_request(existing.number, title=title, body=body)
        logger.info("updated pull request #%d on %s (%s → %s)",
                    ref.number, forge.repository, head, base)
    else:
        ref = forge.create_pull_request(head, base=base, title=title, body=body, draft=spec.draft)
        logger.info("%s pull request #%d on %s (%s → %s)", "opened" if ref.created else "updated",
                    ref.number, forge.repository, head, base)
    if spec.labels:
        _extra(forge, ref, "add labels", lambda: forge.add_labels(ref.number, spec.labels))
    if ref.created and (spec.reviewers or spec.team_reviewers):
        _extra(forge, ref, "request reviewers", lambda: forge.request_reviewers(
            ref.number, users=spec.reviewers, teams=spec.team_reviewers))
    if ref.created and spec.auto_merge is not None:
        method = spec.auto_merge
        _extra(forge, ref, "enable auto-merge", lambda: _auto_merge(forge, ref, method))
    return ref


def _auto_merge(forge: Forge, ref: PullRequestRef, method: MergeMethod) -> None:
    if not forge.enable_auto_merge(ref.number, method):
        logger.warning("auto-merge is not allowed for pull request #%d on %s; leaving it to a human "
                       "(enable 'Allow auto-merge' in the repository settings)", ref.number, forge.repository)


def _extra(forge: Forge, ref: PullRequestRef, what: str, action: _Action) -> None:
    try:
        action()
    except errors.ForgeError as exc:
        logger.warning("could not %s on pull request #%d of %s: %s", what, ref.number, forge.repository, exc)


class _Action(Protocol):
    def __call__(self) -> None: ...
