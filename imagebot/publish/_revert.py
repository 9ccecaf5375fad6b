"""Rollbacks in Git (``imagebot rollback``): the branch's history, the revert commit and its push
or pull request, and the message.

Called by :func:`imagebot.pipeline.rollback`, which decides what to revert: ``history`` deepens a
shallow clone and lists the commits that changed a path; ``revert`` reverts the chosen commits
below that path on the target branch — a commit by the automation's author, signed like its
updates, pushed with :func:`~imagebot.publish.push_with_retry` (rebuilt on whatever was pushed
first), or pushed to a branch of its own with a pull request. The message is rendered like a
commit message (sandboxed Jinja2, or a Flux-style Go template converted on the fly); the default
is git's own ``Revert "<title>"`` style, with ``This reverts commit <sha>.`` (one line per commit
when several are reverted) and a line per image saying which tag comes back.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from imagebot import errors, git
from imagebot.model import flux
from imagebot.model.changes import ChangeSet
from imagebot.model.history import LoggedCommit
from imagebot.model.pullrequests import PullRequestConfig
from imagebot.model.revisions import Published, Revision, Target
from imagebot.publish._body import pull_request_title
from imagebot.publish._forge import Forge, open_or_update
from imagebot.publish._gotemplate import convert_flux_template, looks_like_go_template
from imagebot.publish._message import render_template
from imagebot.publish._options import PublishOptions
from imagebot.publish._push import push_with_retry

__all__ = [
    "DEFAULT_REVERT_TEMPLATE", "RevertData", "RevertedCommit", "RolledBackImage", "history",
    "render_revert_message", "revert",
]

logger = logging.getLogger("imagebot.publish")

DEFAULT_REVERT_TEMPLATE = (
    "{% if reverted|length == 1 %}Revert \"{{ reverted[0].title }}\"\n\n"
    "This reverts commit {{ reverted[0].sha }}.\n"
    "{% else %}Revert {{ reverted|length }} image updates of {{ application }}\n\n"
    "{% for commit in reverted %}This reverts commit {{ commit.sha }} ({{ commit.title }}).\n{% endfor %}"
    "{% endif %}"
    "{% if images %}\n{% for image in images %}- {{ image.image }} {{ image.rolled_back }} → "
    "{{ image.restored or '(removed)' }}\n{% endfor %}{% endif %}"
)
"""The default rollback message (Jinja2): ``Revert "<title>"`` and ``This reverts commit <sha>.``,
as ``git revert`` writes it, then one line per image (``- ghcr.io/org/app 1.3.0 → 1.2.0``)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RevertedCommit:
    sha: str
    title: str


@dataclasses.dataclass(frozen=True, slots=True)
class RolledBackImage:
    policy: str
    """``namespace/name`` of the ImagePolicy."""
    image: str
    rolled_back: str
    """The tag the reverted commits wrote (not proposed again until a newer one appears)."""
    restored: str | None
    """The tag the revert brings back."""


@dataclasses.dataclass(frozen=True, slots=True)
class RevertData:
    """What a rollback message template sees: ``application``, ``automation``, ``reverted``
    (newest first: ``sha``, ``title``) and ``images`` (``policy``, ``image``, ``rolled_back``,
    ``restored``)."""

    application: str
    automation: str
    reverted: Sequence[RevertedCommit]
    images: Sequence[RolledBackImage]


def render_revert_message(template: str | None, data: RevertData) -> str:
    """The rollback commit message: ``template`` (Jinja2, or Go converted) or
    :data:`DEFAULT_REVERT_TEMPLATE`; a ``ConfigError`` for a broken or empty template."""
    what = f"rollback of {data.application}: message template"
    if template is None or not template.strip():
        template = DEFAULT_REVERT_TEMPLATE
    elif looks_like_go_template(template):
        try:
            template = convert_flux_template(template, v1beta1=False)
        except errors.ConfigError as exc:
            raise errors.ConfigError(f"{what}: {exc}") from exc
    context: dict[str, object] = {
        "application": data.application, "automation": data.automation,
        "reverted": list(data.reverted), "images": list(data.images),
    }
    message = render_template(template, context, what=what)
    if not message.strip():
        raise errors.ConfigError(f"{what}: the message is empty")
    return message


def history(workspace: git.Workspace, target: Target, *, path: str,
            stop: str | None = None) -> tuple[Target, list[LoggedCommit]]:
    """The commits reachable from ``target`` that changed ``path`` (merged branches included),
    newest first, down to ``stop`` (a sha or ref, excluded). A shallow clone or checkout is
    deepened first (the target moves to the branch's head as fetched then)."""
    if workspace.is_shallow:
        branch = target.branch if workspace.in_place else workspace.branch
        deepened = workspace.deepen(branch) if branch else None
        if deepened is not None:
            target = Target(target.branch, deepened)
    stop_sha = workspace.resolve(stop) if stop else None
    return target, workspace.log(target.sha, path=path, stop=stop_sha)


def revert(
    workspace: git.Workspace,
    automation: flux.ImageUpdateAutomation,
    *,
    target: Target,
    commits: Sequence[str],
    path: str,
    message: str,
    pull_request: PullRequestConfig | None = None,
    head: str = "",
    body: str = "",
    forge: Callable[[], Forge] | None = None,
    options: PublishOptions | None = None,
) -> Published:
    """Revert ``commits`` (newest first) below ``path`` on ``target`` and publish the revert: pushed
    to ``target.branch`` (rebuilt on the branch's new head when someone pushed first), or
    (``pull_request``) pushed to ``head`` with a pull request titled by the message's first line.
    ``Published.revision`` is None when reverting changes no file."""
    options = options or PublishOptions()

    def build(sha: str) -> Revision | None:
        if options.before_push is not None:
            options.before_push()
        return workspace.commit(
            message, files=workspace.revert_files(commits, onto=sha, path=path), parent=sha,
            author_name=automation.commit.author_name, author_email=automation.commit.author_email,
            signing_key=options.signing_key,
        )

    if pull_request is None:
        if target.branch is None:
            raise errors.ConfigError("HEAD is detached (tag/semver/commit checkout): name a push branch")
        push = automation.push
        revision = push_with_retry(
            workspace, build=build, base=target.sha, branch=target.branch,
            refspec=push.refspec if push else None, options=push.options if push else None,
            attempts=options.push_attempts, sleep=options.sleep,
        )
        return Published(revision, ChangeSet())
    spec = pull_request.spec
    base_name, base = spec.base or target.branch, target.sha
    if base_name is None:
        raise errors.ConfigError(f"ImageUpdateAutomation {automation.key}: pull requests need a base branch")
    if spec.base and spec.base != target.branch:
        base = workspace.fetch_branch(spec.base) or ""
        if not base:
            raise errors.GitError(f"the remote {workspace.url} has no branch {spec.base} "
                                  "(the pull request's base)")
    revision = build(base)
    if revision is None:
        return Published(None, ChangeSet())
    remote = workspace.fetch_branch(head)
    if remote is not None and workspace.same_tree(remote, revision.sha):
        logger.info("%s already carries this revert; nothing to push", head)
        revision = Revision(head, remote)
    else:
        revision = workspace.push(head, commit=revision.sha, force_with_lease=remote or "")
    if forge is None:
        raise errors.ConfigError(f"ImageUpdateAutomation {automation.key}: pull requests need a forge")
    opened = open_or_update(forge(), head, base=base_name, title=pull_request_title(message), body=body,
                            spec=spec)
    return Published(revision, ChangeSet(), (opened,))
