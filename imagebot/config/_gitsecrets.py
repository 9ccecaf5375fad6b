"""Credentials for git remotes, commit signing and the forge, resolved from secrets and env.

Flux's secret layouts: HTTPS ``username``/``password`` or ``bearerToken``; SSH ``identity``
(+ ``identity.pub``, ``known_hosts``, ``password`` as passphrase); OpenPGP signing ``git.asc``
(+ ``passphrase``); SSH signing ``identity`` (+ ``password``). GitHub: ``token``, or ``appID`` +
``privateKey`` (+ ``installationID``). Without a secret: ``GITHUB_TOKEN`` for github.com HTTPS
remotes and for the forge, the ssh-agent (``SSH_AUTH_SOCK``) for SSH remotes.
Called by the ``run``/``plan`` commands; the git layer and publish receive values only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from imagebot.config._secrets import SecretStore
from imagebot.errors import ConfigError
from imagebot.model import gitauth
from imagebot.model.flux import GitRepository
from imagebot.model.pullrequests import ForgeSpec, GitHubApp, GitHubCredentials, GitHubToken

__all__ = ["forge_credentials", "git_auth", "signing_key"]


def _is_ssh(url: str) -> bool:
    return url.startswith("ssh://") or ("@" in url.split("/", 1)[0] and "://" not in url)


def git_auth(
    secrets: SecretStore, repository: GitRepository, *, environ: Mapping[str, str] | None = None
) -> gitauth.GitAuth | None:
    environ = os.environ if environ is None else environ
    name = repository.secret_ref
    if name is not None:

        def get(key: str) -> str | None:
            return secrets.get(name, key)

        if _is_ssh(repository.url):
            identity = get("identity")
            if identity is None:
                raise ConfigError(
                    f"{repository.source}: GitRepository {repository.key}: secret {name!r} has no "
                    f"'identity' key for the SSH remote (expected {secrets.describe(name, 'identity')})"
                )
            return gitauth.SshKeyAuth(
                private_key=identity, public_key=get("identity.pub"), passphrase=get("password"),
                known_hosts=get("known_hosts"),
            )
        token = get("bearerToken")
        if token:
            return gitauth.TokenAuth(token=token.strip())
        username, password = get("username"), get("password")
        if username is not None and password is not None:
            return gitauth.BasicAuth(username=username.strip(), password=password.strip())
        raise ConfigError(
            f"{repository.source}: GitRepository {repository.key}: secret {name!r} needs "
            "'username' and 'password', or 'bearerToken', for an HTTPS remote"
        )
    if _is_ssh(repository.url):
        return gitauth.SshAgentAuth() if environ.get("SSH_AUTH_SOCK") else None
    if urlsplit(repository.url).hostname == "github.com" and environ.get("GITHUB_TOKEN"):
        return gitauth.TokenAuth(token=environ["GITHUB_TOKEN"])
    return None


def signing_key(secrets: SecretStore, name: str) -> gitauth.SigningKey:
    armored = secrets.get(name, "git.asc")
    if armored is not None:
        return gitauth.GpgSigningKey(armored=armored, passphrase=secrets.get(name, "passphrase"))
    identity = secrets.get(name, "identity")
    if identity is not None:
        return gitauth.SshSigningKey(private_key=identity, passphrase=secrets.get(name, "password"))
    raise ConfigError(
        f"signing key secret {name!r} has neither 'git.asc' (OpenPGP) nor 'identity' (SSH): "
        f"expected {secrets.describe(name, 'git.asc')}"
    )


def forge_credentials(
    secrets: SecretStore, forge: ForgeSpec, *, environ: Mapping[str, str] | None = None
) -> GitHubCredentials:
    environ = os.environ if environ is None else environ
    name = forge.secret_ref
    if name is None:
        token = environ.get("GITHUB_TOKEN")
        if not token:
            raise ConfigError(
                "pull requests need GitHub credentials: set GITHUB_TOKEN, or spec.forge.secretRef "
                "in the PullRequest object (keys 'token', or 'appID' + 'privateKey')"
            )
        return GitHubToken(token=token)
    token = secrets.get(name, "token")
    if token:
        return GitHubToken(token=token.strip())
    app_id, key = secrets.get(name, "appID"), secrets.get(name, "privateKey")
    if app_id and key:
        installation = secrets.get(name, "installationID")
        try:
            installation_id = int(installation) if installation else None
        except ValueError:
            raise ConfigError(f"secret {name!r}: installationID must be a number") from None
        return GitHubApp(app_id=app_id.strip(), private_key=key, installation_id=installation_id)
    raise ConfigError(
        f"secret {name!r} needs 'token', or 'appID' and 'privateKey' "
        f"(expected {secrets.describe(name, 'token')})"
    )
