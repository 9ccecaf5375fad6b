"""``publish``: the one call the pipeline makes once the setters planned an automation's change.

Direct mode commits on the target branch and pushes with re-apply (:mod:`._push`); pull-request
mode pushes imagebot's own branches and opens or updates the pull requests (:mod:`._pullrequest`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from imagebot import git
from imagebot.model import flux
from imagebot.model.changes import Edits
from imagebot.model.ids import ObjectKey
from imagebot.model.images import ImageRef
from imagebot.model.pullrequests import PullRequestConfig
from imagebot.model.revisions import Published, Target
from imagebot.model.selections import Selection
from imagebot.publish._forge import Forge
from imagebot.publish._options import PublishOptions, Reapply
from imagebot.publish._pullrequest import pull_requests
from imagebot.publish._push import push_change

__all__ = ["publish"]


def publish(
    workspace: git.Workspace,
    automation: flux.ImageUpdateAutomation,
    *,
    target: Target,
    edits: Edits,
    values: Mapping[ObjectKey, ImageRef],
    reapply: Reapply,
    selections: Iterable[Selection] = (),
    sources: Mapping[str, str] | None = None,
    pull_request: PullRequestConfig | None = None,
    forge: Callable[[], Forge] | None = None,
    options: PublishOptions | None = None,
) -> Published:
    """Commit ``edits`` — the setters' edits of ``values`` on ``target.sha`` — and push them to
    ``target.branch``, or (``pull_request``) to imagebot's branches with a pull request each.

    ``reapply`` re-runs the setters on another commit (a branch that moved, a pull request's
    base, one group); ``selections`` and ``sources`` feed the commit message and pull-request body;
    ``forge`` makes the forge client only when a pull request is due.

    ::

        published = publish.publish(ws, automation, target=publish.target(ws, push_branch="main",
                                    checkout_branch=None), edits=edits, values=values, reapply=reapply)
    """
    options = options or PublishOptions()
    if pull_request is not None:
        return pull_requests(workspace, automation, target=target, edits=edits, values=values,
                             reapply=reapply, selections=selections, sources=sources or {},
                             pull_request=pull_request, forge=forge, options=options)
    return push_change(workspace, automation, target=target, edits=edits, values=values, reapply=reapply,
                       selections=selections, options=options)
