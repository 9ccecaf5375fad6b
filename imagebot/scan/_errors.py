"""Turning registry answers and httpx exceptions into imagebot's error classes.

Used by :mod:`imagebot.scan._http`. Messages name the registry host, the repository and the status
(and the registry's error code or the start of a non-JSON body); never a header or a token.
"""

from __future__ import annotations

import json
import re
import ssl

import httpx

from imagebot import errors

__all__ = ["body_summary", "describe_request_error", "printable", "registry_error_codes", "where"]


def printable(text: str, limit: int | None = None) -> str:
    """``text`` safe for a terminal line: control characters (C0, C1, DEL) shown escaped.

    Registry-controlled strings (tags, error bodies, exception texts) pass through here before
    they reach a message, so an ``ESC [2J`` or a ``\\r`` in a tag cannot rewrite the screen.
    """
    if limit is not None and len(text) > limit:
        text = text[:limit] + f"…({len(text)} characters)"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def registry_error_codes(body: bytes) -> list[tuple[str, str]]:
    """``(code, message)`` pairs of an OCI error body; empty when the body is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    items = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    return [
        (str(item.get("code", "")), str(item.get("message", "")))
        for item in items if isinstance(item, dict)
    ]


def body_summary(body: bytes, content_type: str) -> str:
    """A short, single-line description of an error body for messages."""
    codes = registry_error_codes(body)
    if codes:
        return "; ".join(f"{code}: {message}" if message else code for code, message in codes)
    text = body[:2000].decode("utf-8", "replace")
    if "html" in content_type.lower() or text.lstrip().lower().startswith(("<!doctype", "<html")):
        text = re.sub(r"<[^>]*>", " ", text)
        prefix = "an HTML page: "
    else:
        prefix = ""
    text = " ".join(text.split())
    if not text:
        return "an empty body"
    return printable(prefix + (text[:200] + "…" if len(text) > 200 else text))


def where(host: str, token_url: str | None = None) -> str:
    """Who failed, for messages: the registry, or the token server (by URL) a registry sent us to."""
    return f"registry {host}: token server {token_url}" if token_url else f"registry {host}"


def describe_request_error(exc: httpx.RequestError, host: str, *,
                           token_url: str | None = None) -> errors.ImagebotError:
    """A failed exchange as a retryable (network) or permanent (TLS trust, protocol) error.

    ``token_url``: the exchange was with the token realm, which the message then names — a user
    who reads only the registry's name looks in the wrong place.
    """
    who = where(host, token_url)
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TooManyRedirects):
        return errors.RegistryProtocolError(f"{who}: too many redirects ({_first_line(text)})")
    if not isinstance(exc, httpx.TransportError):  # DecodingError: a broken gzip or br body
        return errors.RegistryProtocolError(f"{who}: unreadable answer ({_first_line(text)})")
    if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return errors.RegistryError(f"{who}: TLS certificate not trusted ({_first_line(text)}); "
                                    f"{_tls_hint(text, host, token_url=token_url)}")
    if "WRONG_VERSION_NUMBER" in text:
        hint = "" if token_url else "; set `insecure: true` for a plain-HTTP registry"
        return errors.RegistryError(f"{who}: it does not speak HTTPS{hint}")
    if isinstance(exc, httpx.ConnectError):
        if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return errors.RegistryUnavailable(f"{who}: unknown host (DNS lookup failed)")
        return errors.RegistryUnavailable(f"{who}: cannot connect ({_first_line(text)})")
    if isinstance(exc, httpx.TimeoutException):
        return errors.RegistryUnavailable(f"{who}: timed out ({type(exc).__name__})")
    return errors.RegistryUnavailable(f"{who}: connection failed ({_first_line(text)})")


def _tls_hint(text: str, host: str, *, token_url: str | None) -> str:
    """What to do, by why verification failed: a CA in certSecretRef cures an unknown issuer, not
    an expired certificate or one issued for another name (asking for it then misleads)."""
    if "has expired" in text or "not yet valid" in text:
        owner = "the token server's" if token_url else "the registry's"
        return f"{owner} certificate has expired or is not yet valid; renew it"
    if "mismatch" in text or "not valid for" in text:
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if token_url:
            name = printable(str(httpx.URL(token_url).host))
        return f"the certificate is not issued for {name}; use a name the certificate carries"
    if token_url:
        return ("a certSecretRef CA is trusted for the registry host itself only; the token server "
                "needs a certificate the system trusts (SSL_CERT_FILE)")
    return ("set certSecretRef with the CA that signed it (if it is set, it holds another CA), or "
            "insecure for a plain-HTTP registry")


def _first_line(text: str) -> str:
    return printable(text.splitlines()[0][:200]) if text else ""
