"""RFC 8288 ``Link`` headers: find the ``rel="next"`` page of a tag listing.

Used by :mod:`imagebot.scan._distribution`. The link is resolved against the URL of the request
that returned it, used verbatim (opaque cursors stay untouched), and must stay on the same origin.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

__all__ = ["next_link", "same_origin"]


def _split_links(header: str) -> list[tuple[str, dict[str, str]]]:
    links: list[tuple[str, dict[str, str]]] = []
    pos = 0
    while True:
        start = header.find("<", pos)
        if start < 0:
            return links
        end = header.find(">", start)
        if end < 0:
            return links
        target = header[start + 1:end]
        params: dict[str, str] = {}
        pos = end + 1
        # parameters run to the next comma outside quotes
        in_quotes, chunk_start = False, pos
        while pos < len(header) and (in_quotes or header[pos] != ","):
            if header[pos] == '"':
                in_quotes = not in_quotes
            pos += 1
        for part in header[chunk_start:pos].split(";"):
            name, sep, value = part.partition("=")
            if sep:
                params[name.strip().lower()] = value.strip().strip('"')
        links.append((target, params))


def next_link(headers: Iterable[str], request_url: str) -> str | None:
    """The absolute URL of the next page, or None when this is the last page."""
    for header in headers:
        for target, params in _split_links(header):
            if "next" in params.get("rel", "").lower().split():
                return urljoin(request_url, target)
    return None


def same_origin(a: str, b: str) -> bool:
    left, right = urlsplit(a), urlsplit(b)
    return (left.scheme, left.hostname, left.port) == (right.scheme, right.hostname, right.port)
