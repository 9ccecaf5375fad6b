"""Remote URLs: which transport, how to show one without its secrets, where its clone is cached.

Used by :mod:`imagebot.git._workspace` and :mod:`imagebot.git._errors`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = [
    "DEFAULT_CACHE", "default_workdir", "is_local", "redact", "redact_url", "same_remote", "url_credentials",
]

DEFAULT_CACHE = Path(".imagebot") / "git"

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


def redact_url(url: str) -> str:
    """``https://user:token@host/org/repo.git`` → ``https://host/org/repo.git``.

    SSH URLs keep their user name (``ssh://git@host/…`` names no secret); any password goes.
    """
    parts = urlsplit(url)
    if parts.scheme == "ssh" and parts.username and parts.password is None:
        return url
    return _USERINFO.sub(r"\g<scheme>", url)


def url_credentials(url: str) -> tuple[str, str] | None:
    """The (user, password) in ``https://user:password@host/…``; None when there is no password
    (an SSH user name is no secret). A lone ``https://TOKEN@host`` is (TOKEN, "")."""
    parts = urlsplit(url)
    if parts.scheme in ("", "ssh") and parts.password is None:
        return None
    if parts.username is None and parts.password is None:
        return None
    return unquote(parts.username or ""), unquote(parts.password or "")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Strip userinfo from every URL in ``text`` and blank out any of ``secrets`` it contains."""
    text = _USERINFO.sub(lambda m: m.group("scheme"), text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def is_local(url: str) -> bool:
    """Plain paths and ``file://`` go through libgit2's local transport (no shallow fetches)."""
    if url.startswith("file://"):
        return True
    scheme = urlsplit(url).scheme
    # scp-like "git@host:org/repo.git" has no scheme but a colon before the first slash
    scp_like = ":" in url.split("/", 1)[0] and not re.match(r"^[A-Za-z]:[\\/]", url)
    return not scheme and not scp_like


def same_remote(a: str, b: str) -> bool:
    return redact_url(a).rstrip("/") == redact_url(b).rstrip("/")


def default_workdir(url: str, base: Path = DEFAULT_CACHE) -> Path:
    """The cached clone of ``url``: ``.imagebot/git/<host-and-path>-<hash>``.

    >>> default_workdir("https://github.com/org/fleet.git")
    PosixPath('.imagebot/git/github.com-org-fleet-5d1c2a7e')
    """
    clean = redact_url(url)
    parts = urlsplit(clean)
    readable = f"{parts.hostname or ''}{parts.path}" if parts.scheme else clean
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", readable.removesuffix(".git")).strip("-.")[-60:]
    digest = hashlib.sha256(clean.encode()).hexdigest()[:8]
    return base / f"{slug or 'repo'}-{digest}"
