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

__all__ = ["body_summary", "describe_transport_error", "registry_error_codes"]


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
    return prefix + (text[:200] + "…" if len(text) > 200 else text)


def describe_transport_error(exc: httpx.TransportError, host: str) -> errors.ImagebotError:
    """A network-level failure as a retryable (or, for TLS verification, permanent) error."""
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or type(exc).__name__
    if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return errors.RegistryError(
            f"registry {host}: TLS certificate not trusted ({_first_line(text)}); "
            "set certSecretRef with the CA, or insecure for a plain-HTTP registry"
        )
    if "WRONG_VERSION_NUMBER" in text:
        return errors.RegistryError(
            f"registry {host}: it does not speak HTTPS; set `insecure: true` for a plain-HTTP registry"
        )
    if isinstance(exc, httpx.ConnectError):
        if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return errors.RegistryUnavailable(f"registry {host}: unknown host (DNS lookup failed)")
        return errors.RegistryUnavailable(f"registry {host}: cannot connect ({_first_line(text)})")
    if isinstance(exc, httpx.TimeoutException):
        return errors.RegistryUnavailable(f"registry {host}: timed out ({type(exc).__name__})")
    return errors.RegistryUnavailable(f"registry {host}: connection failed ({_first_line(text)})")


def _first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else ""
