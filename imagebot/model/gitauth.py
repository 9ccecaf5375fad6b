"""Credentials for a git remote and keys for signing commits, as values.

Built by the pipeline from a ``GitRepository.secretRef`` (Flux's git secret layout: ``username``
/``password`` or ``bearerToken`` for HTTPS; ``identity``, ``identity.pub``, ``known_hosts`` and an
optional ``password`` passphrase for SSH) and from ``signingKey`` secrets (``git.asc`` + optional
``passphrase`` for OpenPGP; ``identity`` + optional ``password`` for SSH); consumed by
:mod:`imagebot.git`, which never reads the environment or files for secrets itself.

Secret fields are left out of ``repr`` so a logged or raised value cannot leak them.
"""

from __future__ import annotations

import dataclasses

__all__ = [
    "BasicAuth",
    "GitAuth",
    "GpgSigningKey",
    "SigningKey",
    "SshAgentAuth",
    "SshKeyAuth",
    "SshSigningKey",
    "TokenAuth",
]


@dataclasses.dataclass(frozen=True, slots=True)
class BasicAuth:
    """HTTP(S) user name and password, sent as Basic auth after the server's 401 challenge."""

    username: str
    password: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class TokenAuth:
    """An access token for HTTP(S), sent as the Basic-auth password.

    ``x-access-token`` is GitHub's convention for app installation tokens and ``GITHUB_TOKEN``;
    GitLab accepts any user name with a token. libgit2 cannot send custom headers, so Flux's
    ``bearerToken`` is sent this way too (works with GitHub, GitLab, Gitea, Bitbucket).
    """

    token: str = dataclasses.field(repr=False)
    username: str = "x-access-token"


@dataclasses.dataclass(frozen=True, slots=True)
class SshKeyAuth:
    """An SSH private key (OpenSSH or PEM text) and the host keys to trust.

    ``known_hosts`` is the text of a known_hosts file (``[host]:port`` form for non-22 ports;
    hashed entries work). When it is None the user's ``~/.ssh/known_hosts`` is consulted.
    ``insecure_skip_host_key`` accepts any host key — only when a user asks for it.
    """

    private_key: str = dataclasses.field(repr=False)
    username: str = "git"
    public_key: str | None = None
    passphrase: str | None = dataclasses.field(default=None, repr=False)
    known_hosts: str | None = None
    insecure_skip_host_key: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class SshAgentAuth:
    """Keys from the running ssh-agent (``SSH_AUTH_SOCK``), with the same host-key rules."""

    username: str = "git"
    known_hosts: str | None = None
    insecure_skip_host_key: bool = False


GitAuth = BasicAuth | TokenAuth | SshKeyAuth | SshAgentAuth


@dataclasses.dataclass(frozen=True, slots=True)
class GpgSigningKey:
    """An OpenPGP key: armored private key text (imported into a throwaway keyring) and/or an id.

    With ``armored`` set the key is imported into a temporary ``GNUPGHOME`` for each signature;
    ``key_id`` then picks one of its keys (default: the first secret key). With only
    ``key_id``, gpg's own keyring (``GNUPGHOME`` of the process) is used.
    """

    armored: str | None = dataclasses.field(default=None, repr=False)
    key_id: str | None = None
    passphrase: str | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class SshSigningKey:
    """An SSH private key used with ``ssh-keygen -Y sign -n git`` (git's ``gpg.format=ssh``)."""

    private_key: str = dataclasses.field(repr=False)
    passphrase: str | None = dataclasses.field(default=None, repr=False)


SigningKey = GpgSigningKey | SshSigningKey
