"""The publish stage: commits, pushes, pull-request branches, their text, and the forge (GitHub).

Publish owns the run's Git work on top of :mod:`imagebot.git`'s workspace primitives. The
pipeline calls ``target(workspace, push_branch=…, checkout_branch=…)`` (the branch and the commit
the setters run on), then ``publish(workspace, automation, target=…, edits=…, values=…,
reapply=…, …)`` with model values — the setters' ``Edits`` and a ``reapply`` callable to re-run
them on another commit — and gets a ``Published`` back. Direct mode commits (signed with
``PublishOptions.signing_key``) and pushes with fetch/re-apply/retry (``push_with_retry``);
pull-request mode rebuilds imagebot's branches from the base and opens or updates one pull
request per group. The parts, also used on their own:

* ``template_data(automation, changes, values=…, selections=…, sources=…)`` → ``TemplateData``,
  Flux's template model (``.AutomationObject``, ``.Changed.FileChanges/Objects/Changes``, ``.Values``)
  plus imagebot's ``images``/``lines``;
* ``render_commit_message(template, data)``: sandboxed Jinja2; Flux (Go) templates are converted
  automatically (``convert_flux_template``); ``None`` gives ``chore(images): update N images``;
* ``pull_request_title(message)``, ``render_pull_request_body(data, problems=…)``;
* ``history(workspace, target, path=…, stop=…)``, ``revert(workspace, automation, target=…,
  commits=…, path=…, message=…, pull_request=…, …)`` and ``render_revert_message(template,
  RevertData(…))``: ``imagebot rollback``'s Git work and message;
* ``branch_name(automation, policy=…)``, ``branch_names(automations)``, ``split_by_policy(changes)``;
* ``open_or_update(forge, head, base=…, title=…, body=…, spec=…)`` on a ``Forge`` such as
  ``GitHubForge(repository, GitHubToken(…) | GitHubApp(…), base_url=…)``.

See ``docs/publish.md``.
"""

import typing

from imagebot.model.pullrequests import GitHubApp, GitHubCredentials, GitHubToken
from imagebot.publish._body import MAX_BODY, pull_request_title, render_pull_request_body
from imagebot.publish._branches import BRANCH_PREFIX, branch_name, branch_names, split_by_policy
from imagebot.publish._commit import commit, commit_message
from imagebot.publish._forge import Forge, open_or_update
from imagebot.publish._gotemplate import convert_flux_template, looks_like_go_template
from imagebot.publish._message import DEFAULT_MESSAGE_TEMPLATE, MAX_OUTPUT, render_commit_message
from imagebot.publish._options import PublishOptions, Reapply
from imagebot.publish._publish import publish
from imagebot.publish._pullrequest import forge_for, pull_requests
from imagebot.publish._push import push_change, push_with_retry
from imagebot.publish._revert import (
    DEFAULT_REVERT_TEMPLATE,
    RevertData,
    RevertedCommit,
    RolledBackImage,
    history,
    render_revert_message,
    revert,
)
from imagebot.publish._summary import ImageLine, ImageUpdate
from imagebot.publish._target import target
from imagebot.publish._templatedata import (
    Change,
    Changed,
    NamespacedName,
    ObjectIdentifier,
    TemplateData,
    Updated,
    UpdatedImage,
    template_data,
)

if typing.TYPE_CHECKING:
    from imagebot.publish._github import GITHUB_API, GitHubForge

__all__ = [
    "BRANCH_PREFIX",
    "DEFAULT_MESSAGE_TEMPLATE",
    "DEFAULT_REVERT_TEMPLATE",
    "GITHUB_API",
    "MAX_BODY",
    "MAX_OUTPUT",
    "Change",
    "Changed",
    "Forge",
    "GitHubApp",
    "GitHubCredentials",
    "GitHubForge",
    "GitHubToken",
    "ImageLine",
    "ImageUpdate",
    "NamespacedName",
    "ObjectIdentifier",
    "PublishOptions",
    "Reapply",
    "RevertData",
    "RevertedCommit",
    "RolledBackImage",
    "TemplateData",
    "Updated",
    "UpdatedImage",
    "branch_name",
    "branch_names",
    "commit",
    "commit_message",
    "convert_flux_template",
    "forge_for",
    "history",
    "looks_like_go_template",
    "open_or_update",
    "publish",
    "pull_request_title",
    "pull_requests",
    "push_change",
    "push_with_retry",
    "render_commit_message",
    "render_pull_request_body",
    "render_revert_message",
    "revert",
    "split_by_policy",
    "target",
    "template_data",
]


_LAZY = ("GITHUB_API", "GitHubForge")


def __getattr__(name: str) -> object:
    # PyGithub (with requests, jwt and cryptography) costs ~0.3 s of start-up and only pull-request
    # mode needs it: imported on first use of the forge (issue 9)
    if name in _LAZY:
        from imagebot.publish import _github

        return getattr(_github, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
