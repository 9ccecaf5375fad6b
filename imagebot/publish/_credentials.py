"""GitHub credentials, as values: a token or a GitHub App (id + private key [+ installation]).

Built by the CLI/pipeline from config (which is the only reader of env and secret files; publish
never reads ``GITHUB_TOKEN`` itself); consumed by :class:`imagebot.publish.GitHubForge`. Secrets are
``repr=False`` so they never show in logs or tracebacks of these objects.
"""

from __future__ import annotations

import dataclasses

__all__ = ["GitHubApp", "GitHubCredentials", "GitHubToken"]


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
