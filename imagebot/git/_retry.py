"""Commit and push, and when someone else pushed first: fetch, re-apply, re-commit, retry.

Called by the pipeline (publish step) with two callbacks of its own: ``reapply`` re-runs the
setters on the freshly reset work tree, ``commit`` renders the message for what changed and
calls :meth:`Workspace.commit`. Bounded, with exponential backoff; never forces, so a commit
somebody else pushed is always kept underneath ours.
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
    reapply: Callable[[Workspace], bool],
    commit: Callable[[Workspace], Revision | None],
    branch: str | None = None,
    refspec: str | None = None,
    options: Mapping[str, str] | None = None,
    attempts: int = 5,
    retry: backoff.Backoff = backoff.DEFAULT,
    sleep: Callable[[float], None] = time.sleep,
) -> Revision | None:
    """Commit the edits already in ``workspace`` and push them to ``branch``.

    Returns the pushed revision, or None when there was nothing to commit (then nothing is
    pushed) — also when, after a rejection, the remote already holds the change. Raises the last
    :class:`~imagebot.errors.PushRejected` after ``attempts`` pushes.

    ::

        revision = git.push_with_retry(
            ws,
            reapply=lambda ws: bool(setters.apply(selections, root=ws.path).files),
            commit=lambda ws: ws.commit(message, author_name=name, author_email=email),
        )
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    target = branch or workspace.branch
    if target is None:
        raise errors.ConfigError("HEAD is detached (tag/semver/commit checkout): name a push branch")
    if commit(workspace) is None:
        return None
    for attempt in range(1, attempts + 1):
        try:
            return workspace.push(target, refspec=refspec, options=options)
        except errors.PushRejected as exc:
            if attempt == attempts:
                raise
            delay = retry.delay(attempt - 1)
            logger.info(
                "push to %s rejected (%s); retry %d/%d in %.1fs", target, exc, attempt, attempts - 1, delay
            )
            sleep(delay)
        remote_head = workspace.fetch_branch(target)
        if remote_head is not None:
            workspace.reset(remote_head)
        if not reapply(workspace) or commit(workspace) is None:
            logger.info("%s already has the change; nothing to push", target)
            return None
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
