"""libgit2 remote callbacks built from a :data:`~imagebot.model.gitauth.GitAuth` value.

``session(auth)`` yields a factory of fresh :class:`Callbacks` for one network operation and, for
SSH with ``known_hosts`` text, points libgit2's home directory at a temporary one holding that
file for the duration (libgit2 reads ``~/.ssh/known_hosts`` itself; the option is process-global,
so SSH operations with their own known_hosts are serialised by a lock). Used by
:mod:`imagebot.git._workspace`.

pygit2's default ``certificate_check`` accepts *any* SSH host key (git-forge-tooling §1), so
:class:`Callbacks` always overrides it and trusts libgit2's verdict unless the user set
``insecure_skip_host_key``.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeAlias

import pygit2
from pygit2.enums import CredentialType

from imagebot import errors
from imagebot.model import gitauth

__all__ = ["DEFAULT_TIMEOUT", "Callbacks", "Negotiator", "SessionContext", "secrets_of", "session"]

DEFAULT_TIMEOUT = 60.0
"""Seconds a network operation may take (Flux's ``GitRepository.spec.timeout`` default)."""

_CONNECT_TIMEOUT = 30.0

Negotiator = Callable[[list[pygit2.remotes.PushUpdate]], None]
"""Called with the planned ref updates before a push uploads anything; raise to abort."""


_HOMEDIR_LOCK = threading.Lock()
_MAX_CREDENTIAL_ASKS = 3  # libgit2 asks again after every refusal (up to 15 times): bound it


def secrets_of(auth: gitauth.GitAuth | None) -> tuple[str, ...]:
    """The secret strings of ``auth``, to scrub from any message that might echo them."""
    match auth:
        case gitauth.BasicAuth(password=password):
            return (password,)
        case gitauth.TokenAuth(token=token):
            return (token,)
        case gitauth.SshKeyAuth(private_key=key, passphrase=passphrase):
            return (key, passphrase or "")
    return ()


class Callbacks(pygit2.RemoteCallbacks):
    """Credentials, host-key policy and per-ref push results for one network operation."""

    def __init__(self, auth: gitauth.GitAuth | None, *, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self._auth = auth
        self._url = url
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout
        self._asks = 0
        self.rejected: dict[str, str] = {}
        """refname → the server's reason, from ``push_update_reference``."""
        self.negotiate: Negotiator | None = None
        self.said = ""
        """The remote's messages (``remote: …``) during this operation, for a refusal's reason."""

    def check_deadline(self) -> None:
        """A stalled read is bounded by libgit2's socket timeouts; a slow trickle by this."""
        if time.monotonic() > self._deadline:
            raise errors.GitUnavailable(
                f"git remote {self._url}: no complete answer within {self._timeout:g} s (timed out)"
            )

    def transfer_progress(self, stats: pygit2.remotes.TransferProgress) -> None:
        self.check_deadline()

    def sideband_progress(self, string: str) -> None:
        self.check_deadline()
        if len(self.said) < 4096:  # what the remote prints (a refusing hook's reason), bounded
            self.said += string

    def push_transfer_progress(self, objects_pushed: int, total_objects: int, bytes_pushed: int) -> None:
        self.check_deadline()

    def credentials(
        self, url: str, username_from_url: str | None, allowed_types: CredentialType
    ) -> pygit2.Username | pygit2.UserPass | pygit2.Keypair:
        self.check_deadline()
        self._asks += 1
        if self._asks > _MAX_CREDENTIAL_ASKS:
            raise errors.GitAuthError(f"git remote {self._url}: credentials refused")
        auth = self._auth
        if auth is None:
            raise errors.GitAuthError(f"git remote {self._url} asks for credentials and none are configured")
        if isinstance(auth, gitauth.BasicAuth | gitauth.TokenAuth):
            if not allowed_types & CredentialType.USERPASS_PLAINTEXT:
                raise errors.GitAuthError(f"git remote {self._url} does not accept a user name and password")
            if isinstance(auth, gitauth.BasicAuth):
                return pygit2.UserPass(auth.username, auth.password)
            return pygit2.UserPass(auth.username, auth.token)
        user = username_from_url or auth.username
        if allowed_types & CredentialType.USERNAME and not allowed_types & CredentialType.SSH_KEY:
            return pygit2.Username(user)
        if isinstance(auth, gitauth.SshAgentAuth):
            return pygit2.KeypairFromAgent(user)
        if not allowed_types & (CredentialType.SSH_KEY | CredentialType.SSH_MEMORY):
            raise errors.GitAuthError(f"git remote {self._url} does not accept an SSH key")
        return pygit2.KeypairFromMemory(user, auth.public_key, auth.private_key, auth.passphrase or "")

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        if (
            isinstance(self._auth, gitauth.SshKeyAuth | gitauth.SshAgentAuth)
            and self._auth.insecure_skip_host_key
        ):
            return True
        if not valid:
            raise errors.GitAuthError(
                f"git remote {self._url}: the host key or certificate of {host.decode(errors='replace')} "
                "is not trusted (add it to known_hosts / the CA bundle)"
            )
        return True

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message:
            self.rejected[refname] = message

    def push_negotiation(self, updates: list[pygit2.remotes.PushUpdate]) -> None:
        if self.negotiate is not None:
            self.negotiate(updates)


SessionContext: TypeAlias = contextlib.AbstractContextManager[Callable[[], Callbacks]]


def session(auth: gitauth.GitAuth | None, *, url: str, timeout: float = DEFAULT_TIMEOUT) -> SessionContext:
    """``with session(auth, url=u) as callbacks: remote.fetch(..., callbacks=callbacks())``.

    Each callbacks object carries a deadline ``timeout`` seconds away; libgit2's connect and
    socket-read timeouts (process-global options) are set to match, so a remote that accepts the
    connection and never answers ends the operation with a ``GitUnavailable`` naming it.
    """
    milliseconds = max(1, int(timeout * 1000))
    pygit2.settings.server_connect_timeout = min(milliseconds, int(_CONNECT_TIMEOUT * 1000))
    pygit2.settings.server_timeout = milliseconds
    return _session(auth, url=url, timeout=timeout)


@contextlib.contextmanager
def _session(auth: gitauth.GitAuth | None, *, url: str, timeout: float) -> Iterator[Callable[[], Callbacks]]:
    known_hosts = getattr(auth, "known_hosts", None)
    if known_hosts is None:
        yield lambda: Callbacks(auth, url=url, timeout=timeout)
        return
    with _HOMEDIR_LOCK, tempfile.TemporaryDirectory(prefix="imagebot-ssh-") as home:
        ssh_dir = Path(home) / ".ssh"
        ssh_dir.mkdir(mode=0o700)
        (ssh_dir / "known_hosts").write_text(known_hosts, encoding="utf-8")
        previous = pygit2.settings.homedir
        pygit2.settings.homedir = home
        try:
            yield lambda: Callbacks(auth, url=url, timeout=timeout)
        finally:
            if previous is not None:
                pygit2.settings.homedir = previous
