"""Commit and push, and when someone else pushed first: fetch, rebuild on the new head, retry.

Called by the pipeline (publish step) with a ``build`` callback of its own: given the sha of the
branch as it stands, it re-runs the setters on that commit's files and returns a commit on top of
it (or None when the branch already holds the change). Bounded, with exponential backoff; never
forces, so a commit somebody else pushed is always kept underneath ours.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from imagebot import backoff, errors
from imagebot.git._workspace import Workspace
from imagebot.model.revisions import Revision

__all__ = ["push_with_retry"]

logger = logging.getLogger("imagebot.git")


def push_with_retry(
    workspace: Workspace,
    *,
    build: Callable[[str], Revision | None],
    base: str,
    branch: str,
    refspec: str | None = None,
    options: Mapping[str, str] | None = None,
    attempts: int = 5,
    retry: backoff.Backoff = backoff.DEFAULT,
    sleep: Callable[[float], None] = time.sleep,
) -> Revision | None:
    """``build(base)`` a commit and push it to ``branch``; on a rejection fetch the branch and
    build again on its new head.

    Returns the pushed revision, or None when there was nothing to commit (then nothing is
    pushed) — also when, after a rejection, the remote already holds the change. Raises the last
    :class:`~imagebot.errors.PushRejected` after ``attempts`` pushes.

    ::

        revision = git.push_with_retry(
            ws, base=ws.head, branch="main",
            build=lambda sha: ws.commit(message, files=edits_on(sha), parent=sha, **author),
        )
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    revision = build(base)
    if revision is None:
        return None
    for attempt in range(1, attempts + 1):
        try:
            return workspace.push(branch, commit=revision.sha, refspec=refspec, options=options)
        except errors.PushRejected as exc:
            if attempt == attempts:
                raise
            delay = retry.delay(attempt - 1)
            logger.info(
                "push to %s rejected (%s); retry %d/%d in %.1fs", branch, exc, attempt, attempts - 1, delay
            )
            sleep(delay)
        remote_head = workspace.fetch_branch(branch)
        revision = build(remote_head or base)
        if revision is None:
            logger.info("%s already has the change; nothing to push", branch)
            return None
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
