"""The git layer: a work tree to edit, commit and push — the only home of pygit2.

Sits below the stages (publish and the pipeline call it) and above config/model/errors.
``Workspace.clone``/``Workspace.open`` give a work tree with primitives (files at a commit,
commit, push, fetch); what to commit and how a rejected push is re-applied and retried is
:mod:`imagebot.publish`'s. Credentials arrive as
:mod:`imagebot.model.gitauth` values; every pygit2 error leaves as an :mod:`imagebot.errors`
error with credentials stripped from URLs. See ``docs/git.md``.
"""

from imagebot.git._refs import TagChooser
from imagebot.git._remote import DEFAULT_TIMEOUT
from imagebot.git._urls import DEFAULT_CACHE, default_workdir, is_local, redact_url
from imagebot.git._workspace import Workspace

__all__ = [
    "DEFAULT_CACHE",
    "DEFAULT_TIMEOUT",
    "TagChooser",
    "Workspace",
    "default_workdir",
    "is_local",
    "redact_url",
]
