"""The publish stage: commit messages, pull-request text, branches, and the forge (GitHub).

What the pipeline calls after the setters produced a ``ChangeSet`` (the git workspace itself is
:mod:`imagebot.git`; the pipeline wires the two):

* ``template_data(automation, changes, values=…, selections=…, sources=…)`` → ``TemplateData``,
  Flux's template model (``.AutomationObject``, ``.Changed.FileChanges/Objects/Changes``, ``.Values``)
  plus imagebot's ``images``/``lines``;
* ``render_commit_message(template, data)``: sandboxed Jinja2; Flux (Go) templates are converted
  automatically (``convert_flux_template``); ``None`` gives ``chore(images): update N images``;
* ``pull_request_title(message)``, ``render_pull_request_body(data, problems=…)``;
* ``branch_name(automation, policy=…)``, ``branch_names(automations)``, ``split_by_policy(changes)``;
* ``open_or_update(forge, head, base=…, title=…, body=…, spec=…)`` on a ``Forge`` such as
  ``GitHubForge(repository, GitHubToken(…) | GitHubApp(…), base_url=…)``.

See ``docs/publish.md``.
"""

import typing

from imagebot.model.pullrequests import GitHubApp, GitHubCredentials, GitHubToken
from imagebot.publish._body import MAX_BODY, pull_request_title, render_pull_request_body
from imagebot.publish._branches import BRANCH_PREFIX, branch_name, branch_names, split_by_policy
from imagebot.publish._forge import Forge, open_or_update
from imagebot.publish._gotemplate import convert_flux_template, looks_like_go_template
from imagebot.publish._message import DEFAULT_MESSAGE_TEMPLATE, MAX_OUTPUT, render_commit_message
from imagebot.publish._summary import ImageLine, ImageUpdate
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
    "TemplateData",
    "Updated",
    "UpdatedImage",
    "branch_name",
    "branch_names",
    "convert_flux_template",
    "looks_like_go_template",
    "open_or_update",
    "pull_request_title",
    "render_commit_message",
    "render_pull_request_body",
    "split_by_policy",
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
