"""How imagebot opens pull requests for an automation: ``PullRequestSpec``.

Parsed by :mod:`imagebot.config` from ``PullRequest`` objects (``docs/publish.md``); consumed by
:mod:`imagebot.publish` (branch names, grouping, labels, reviewers, draft, auto-merge) and the
pipeline (which branch to push, which base to target).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from imagebot.model.ids import ObjectKey

__all__ = [
    "ForgeSpec",
    "GitHubApp",
    "GitHubCredentials",
    "GitHubToken",
    "Grouping",
    "MergeMethod",
    "PullRequestConfig",
    "PullRequestSpec",
]

Grouping = Literal["automation", "per-image"]
"""``automation``: one pull request per automation; ``per-image``: one per ImagePolicy."""

MergeMethod = Literal["merge", "squash", "rebase"]


@dataclasses.dataclass(frozen=True, slots=True)
class PullRequestSpec:
    """Pull-request settings of one automation; the defaults open a plain, ready PR.

    >>> PullRequestSpec(labels=("dependencies",), auto_merge="squash").draft
    False
    """

    base: str | None = None
    """Target branch; ``None`` means the automation's checkout branch."""
    group: Grouping = "automation"
    labels: tuple[str, ...] = ()
    """Added on every run (adding a present label is a no-op); never removed."""
    reviewers: tuple[str, ...] = ()
    """User logins, requested once, when the pull request is created."""
    team_reviewers: tuple[str, ...] = ()
    """Team slugs (``org/team`` → ``team``), requested once, when the pull request is created."""
    draft: bool = False
    """Open new pull requests as drafts (an existing one keeps its state)."""
    auto_merge: MergeMethod | None = None
    """Enable auto-merge with this method when the repository allows it (else a warning)."""
    body_template: str | None = None
    """Jinja2 for the pull-request body (sees the commit-template names plus ``table``); ``None``:
    imagebot's table layout."""


@dataclasses.dataclass(frozen=True, slots=True)
class GitHubToken:
    """A personal access token, ``GITHUB_TOKEN`` of Actions, or an installation token."""

    token: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class GitHubApp:
    """A GitHub App: its id and PEM private key; the installation is looked up when not given."""

    app_id: str
    private_key: str = dataclasses.field(repr=False)
    installation_id: int | None = None


GitHubCredentials = GitHubToken | GitHubApp
"""Built by config (the only reader of env and secrets); consumed by ``publish.GitHubForge``."""


@dataclasses.dataclass(frozen=True, slots=True)
class ForgeSpec:
    """Where pull requests go: the forge's API and repository, and the secret to use."""

    provider: Literal["github"] = "github"
    api_url: str = "https://api.github.com"
    repository: str | None = None
    """``owner/name``; None: derived from the GitRepository URL."""
    secret_ref: str | None = None
    """Secret with ``token``, or ``appID`` + ``privateKey`` [+ ``installationID``]; None: GITHUB_TOKEN."""


@dataclasses.dataclass(frozen=True, slots=True)
class PullRequestConfig:
    """An ``imagebot.dev/v1alpha1`` ``PullRequest`` object, named after its ImageUpdateAutomation."""

    key: ObjectKey
    spec: PullRequestSpec = PullRequestSpec()
    forge: ForgeSpec = ForgeSpec()
    source: str = ""
