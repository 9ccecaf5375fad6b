"""Translate ``pygit2.GitError`` into imagebot's error tree, once, with secrets removed.

``map_git_errors`` wraps every libgit2 call in :mod:`imagebot.git._workspace`; push-time
rejections reported through ``push_update_reference`` go through :func:`rejection`.
Messages name the operation and the redacted URL only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pygit2

from imagebot import errors
from imagebot.git._urls import redact

__all__ = ["map_git_errors", "rejection", "remote_said"]

_SAID_LIMIT = 300

# libgit2's client-side checks (spec: git-forge-tooling §2) and git receive-pack's answers when
# the remote branch moved underneath us; all of them mean "fetch and try again".
_RACE = (
    "non-fastforwardable",
    "not present locally",
    "non-fast-forward",
    "fetch first",
    "failed to update ref",
    "cannot lock ref",
    "failed to lock",
    "stale info",
    "incorrect old value",
)
_AUTH = ("authentication", "credentials", "401", "403", "hostkey", "certificate", "permission denied")
_UNAVAILABLE = (
    "failed to connect",
    "connection refused",
    "could not connect",
    "timed out",
    "failed to resolve",
    "could not resolve",
    "connection reset",
    "unexpected eof",
    "status code: 5",
    "failed to start ssh session",
)


def _classify(message: str) -> type[errors.ImagebotError]:
    low = message.lower()
    if any(word in low for word in _RACE):
        return errors.PushRejected
    if any(word in low for word in _AUTH):
        return errors.GitAuthError
    if any(word in low for word in _UNAVAILABLE):
        return errors.GitUnavailable
    return errors.GitError


@contextlib.contextmanager
def map_git_errors(operation: str, url: str, secrets: tuple[str, ...] = ()) -> Iterator[None]:
    """``with map_git_errors("push", url): remote.push(...)`` → PushRejected / GitAuthError / …"""
    try:
        yield
    except errors.ImagebotError:
        raise  # raised by our own callbacks (credentials refused) with a clean message
    except OSError as exc:  # the work tree or cache dir, not the remote
        raise errors.GitError(f"git {operation}: {type(exc).__name__}: {exc.strerror or exc}") from exc
    except pygit2.GitError as exc:
        if isinstance(exc, pygit2.AuthError | pygit2.CertificateError):
            kind: type[errors.ImagebotError] = errors.GitAuthError
        else:
            kind = _classify(str(exc))
        detail = redact(str(exc), secrets)
        message = f"git {operation} {redact(url, secrets)} failed: {detail}"
        # chain only when the cause's text is as clean as ours: tracebacks print the cause
        cause = exc if detail == str(exc) else None
        raise kind(message) from cause


def rejection(url: str, refname: str, message: str, *, said: str = "") -> errors.ImagebotError:
    """A ref the server refused to update (hook, protection, lost race), as an imagebot error.

    ``said``: what the remote printed meanwhile (a hook's explanation, ``remote: …`` lines), which
    is the only place a refusing hook can say why; shown bounded and without control characters.
    """
    text = f"git push {redact(url)}: the remote refused {refname}: {redact(message)}"
    said = remote_said(said)
    if said:
        text += f" (the remote said: {redact(said)})"
    kind = _classify(message)
    return kind(text) if kind is errors.PushRejected else errors.GitError(text)


def remote_said(text: str) -> str:
    """The remote's messages as one bounded line: ``remote:`` prefixes and git's own progress
    lines dropped, control characters (a hostile remote's escape sequences) removed."""
    lines = []
    for raw in text.replace("\r", "\n").splitlines():
        line = raw.strip()
        if line.startswith("remote:"):
            line = line[len("remote:"):].strip()
        if not line or line.startswith(("Resolving deltas", "Counting objects", "Writing objects",
                                        "Compressing objects", "To ", "error: failed to push")):
            continue
        lines.append("".join(c for c in line if c.isprintable()))
    joined = " | ".join(dict.fromkeys(lines))
    return joined if len(joined) <= _SAID_LIMIT else joined[:_SAID_LIMIT] + "…"
