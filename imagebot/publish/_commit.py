"""A commit of exactly what the setters produced, with the automation's message and author.

The commit is built from blobs on top of the given parent (``Workspace.commit``): the work tree
and the index play no part, and with a signing key it is signed. Called by
:mod:`imagebot.publish._push` (direct pushes) and :mod:`imagebot.publish._pullrequest`.
"""

from __future__ import annotations

from collections.abc import Iterable

from imagebot import git
from imagebot.errors import ConfigError
from imagebot.model import flux, gitauth
from imagebot.model.changes import ChangeSet, Edits
from imagebot.model.revisions import Revision
from imagebot.model.selections import Selection
from imagebot.publish._message import render_commit_message
from imagebot.publish._templatedata import template_data

__all__ = ["commit", "commit_message"]


def commit_message(
    automation: flux.ImageUpdateAutomation, changes: ChangeSet, selections: Iterable[Selection],
) -> str:
    """The automation's ``messageTemplate`` rendered for ``changes``; a template error names the
    automation and its file (:class:`~imagebot.errors.ConfigError`)."""
    data = template_data(automation.key, changes, selections=selections,
                         v1beta1=automation.api_version.endswith("/v1beta1"))
    try:
        return render_commit_message(automation.commit.message_template, data)
    except ConfigError as exc:
        where = f"{automation.source_file}: ImageUpdateAutomation {automation.key}"
        raise ConfigError(f"{where}: {exc}") from None


def commit(
    workspace: git.Workspace, automation: flux.ImageUpdateAutomation, edits: Edits, *, message: str,
    parent: str, signing_key: gitauth.SigningKey | None,
) -> Revision | None:
    """``edits`` committed on ``parent`` (None when the tree would not change)."""
    files: dict[str, bytes | None] = {workspace.git_path(path): data for path, data in edits.files.items()}
    return workspace.commit(
        message, files=files, parent=parent, author_name=automation.commit.author_name,
        author_email=automation.commit.author_email, signing_key=signing_key,
    )
