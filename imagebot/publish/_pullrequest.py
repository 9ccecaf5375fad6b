"""Pull-request mode: push imagebot's own branch(es) and open or update one pull request per group.

Each branch is rebuilt from the base on every run (``group: per-image``: one branch and pull
request per policy that changed) purely from objects — no local branch is created or switched to
— replaced only if nobody else moved it, and not pushed at all when it already carries the same
tree, so a rerun with nothing new is a no-op. Called by :func:`imagebot.publish.publish`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping

from imagebot import git
from imagebot.errors import ConfigError, GitError
from imagebot.model import flux
from imagebot.model.changes import Edits
from imagebot.model.ids import ObjectKey
from imagebot.model.images import ImageRef
from imagebot.model.pullrequests import GitHubCredentials, PullRequestConfig
from imagebot.model.revisions import Published, PullRequestRef, Revision, Target
from imagebot.model.selections import Selection
from imagebot.publish._body import pull_request_title, render_pull_request_body
from imagebot.publish._branches import branch_name
from imagebot.publish._commit import commit, commit_message
from imagebot.publish._forge import Forge, open_or_update
from imagebot.publish._options import PublishOptions, Reapply
from imagebot.publish._templatedata import template_data

__all__ = ["forge_for", "pull_requests"]

logger = logging.getLogger("imagebot.publish")


def pull_requests(
    workspace: git.Workspace,
    automation: flux.ImageUpdateAutomation,
    *,
    target: Target,
    edits: Edits,
    values: Mapping[ObjectKey, ImageRef],
    reapply: Reapply,
    selections: Iterable[Selection],
    sources: Mapping[str, str],
    pull_request: PullRequestConfig,
    forge: Callable[[], Forge] | None,
    options: PublishOptions,
) -> Published:
    """One branch and pull request per group, each re-applied on the base (see the module).

    ``edits`` (planned on ``target.sha``) say which policies changed and which files could not be
    processed (the pull requests' problems); ``forge`` is called only when a pull request is due.
    """
    spec = pull_request.spec
    base, base_sha = target.branch, target.sha
    if workspace.in_place and spec.base and spec.base != base:
        base_sha = workspace.fetch_branch(spec.base) or ""
        if not base_sha:
            raise GitError(f"the remote {workspace.url} has no branch {spec.base} (the pull requests' base)")
    base = spec.base or base
    if base is None:
        raise ConfigError(f"ImageUpdateAutomation {automation.key}: pull requests need a base branch")
    push = automation.push
    if spec.group == "per-image":
        changed = sorted({c.policy for f in edits.changes.files for c in f.changes})
        groups = [(branch_name(automation.key, policy=key), {key: values[key]}) for key in changed]
    else:
        head = branch_name(automation.key)
        if push is not None and push.branch and push.branch != base:
            head = push.branch
        groups = [(head, dict(values))]
    chosen = tuple(selections)
    revision: Revision | None = None
    opened: list[PullRequestRef] = []
    for head, group in groups:
        planned = reapply(base_sha, group)
        if not planned.files:
            continue
        mine = [s for s in chosen if s.policy in group]
        message = commit_message(automation, planned.changes, mine)
        revision = commit(workspace, automation, planned, message=message, parent=base_sha,
                          signing_key=options.signing_key)
        if revision is None or not options.push:
            continue
        remote = workspace.fetch_branch(head)
        if remote is not None and workspace.same_tree(remote, revision.sha):
            logger.info("%s already carries these changes; nothing to push", head)
            revision = Revision(head, remote)
        else:
            if options.before_push is not None:
                options.before_push()
            revision = workspace.push(head, commit=revision.sha, force_with_lease=remote or "")
        if forge is None:
            raise ConfigError(f"ImageUpdateAutomation {automation.key}: pull requests need a forge")
        data = template_data(automation.key, planned.changes, selections=mine, sources=sources)
        opened.append(open_or_update(
            forge(), head, base=base, title=pull_request_title(message),
            body=render_pull_request_body(data, problems=edits.changes.errors, template=spec.body_template),
            spec=spec,
        ))
    return Published(revision, edits.changes, tuple(opened))


def forge_for(
    pull_request: PullRequestConfig, url: str, credentials: Callable[[], GitHubCredentials],
) -> Forge:
    """The forge of a ``PullRequest``: ``spec.forge.repository``, else the ``owner/name`` of a
    github.com remote ``url``; ``credentials`` are looked up once the repository is known."""
    repository = pull_request.forge.repository or _github_repository(url)
    if repository is None:
        raise ConfigError(
            f"PullRequest {pull_request.key}: set spec.forge.repository (owner/name); it cannot be "
            f"derived from {git.redact_url(url)}"
        )
    from imagebot.publish._github import GitHubForge  # PyGithub is imported only when used

    return GitHubForge(repository, credentials(), base_url=pull_request.forge.api_url)


def _github_repository(url: str) -> str | None:
    match = re.search(r"github\.com[:/]+([^/]+/[^/]+?)(?:\.git)?/?$", url)
    return match.group(1) if match else None
