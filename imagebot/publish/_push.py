"""Commit and push, and when someone else pushed first: fetch, rebuild on the new head, retry.

``push_with_retry`` takes a ``build`` callback: given the sha of the branch as it stands, it
returns a commit on top of it (or None when the branch already holds the change).
``push_change`` is publish's direct mode built on it: the setters' edits are committed on the
target, and on a rejection re-applied (the pipeline's ``reapply``) on the branch's new head.
Bounded, with the shared backoff; never forces, so a commit somebody else pushed is always kept
underneath ours. Called by :func:`imagebot.publish.publish`; ``imagebot rollback`` may reuse it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping

from imagebot import backoff, errors
from imagebot.git import Workspace
from imagebot.model import flux
from imagebot.model.changes import Edits
from imagebot.model.ids import ObjectKey
from imagebot.model.images import ImageRef
from imagebot.model.revisions import Published, Revision, Target
from imagebot.model.selections import Selection
from imagebot.publish._commit import commit, commit_message
from imagebot.publish._options import PublishOptions, Reapply

__all__ = ["push_change", "push_with_retry"]

logger = logging.getLogger("imagebot.publish")


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

        revision = publish.push_with_retry(
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


def push_change(
    workspace: Workspace,
    automation: flux.ImageUpdateAutomation,
    *,
    target: Target,
    edits: Edits,
    values: Mapping[ObjectKey, ImageRef],
    reapply: Reapply,
    selections: Iterable[Selection],
    options: PublishOptions,
) -> Published:
    """Commit ``edits`` (planned on ``target.sha``) and push them to ``target.branch``; when the
    branch moved meanwhile, ``reapply(values)`` on its new head and push again (with
    ``options.push=False``: the commit only). ``Published.changes`` is what the pushed commit holds."""
    if target.branch is None:
        raise errors.ConfigError("HEAD is detached (tag/semver/commit checkout): name a push branch")
    chosen = tuple(selections)
    changes = edits.changes
    first: tuple[str, Edits] | None = (target.sha, edits)

    def build(sha: str) -> Revision | None:
        nonlocal changes, first
        current = first[1] if first is not None and first[0] == sha else reapply(sha, values)
        first = None
        changes = current.changes
        if not current.files:
            return None
        return commit(workspace, automation, current, message=commit_message(automation, changes, chosen),
                      parent=sha, signing_key=options.signing_key)

    if not options.push:
        return Published(build(target.sha), changes)
    if options.before_push is not None:
        options.before_push()
    push = automation.push
    revision = push_with_retry(
        workspace, build=build, base=target.sha, branch=target.branch,
        refspec=push.refspec if push else None, options=push.options if push else None,
        attempts=options.push_attempts, sleep=options.sleep,
    )
    return Published(revision, changes)
