"""One HTTP exchange with a size cap and an overall deadline: the floor every request stands on.

Used by :mod:`imagebot.scan._auth` (token requests) and :mod:`imagebot.scan._http` (registry
requests). httpx's read timeout applies per socket read, so a slow-dripping body could hold a
request forever; here the whole exchange, body included, must finish within ``deadline`` seconds,
and the decoded body may not exceed ``cap`` bytes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import zlib
from collections.abc import Mapping

import httpx

from imagebot import errors
from imagebot.scan._errors import describe_request_error, printable, where

__all__ = ["MAX_REDIRECTS", "Response", "send"]

MAX_REDIRECTS = 5
"""Redirect hops followed for one request (registry → CDN → storage takes two)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str
    """The final URL (after redirects), for resolving relative links."""

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "")).split(";", 1)[0].strip().lower()


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    host: str,
    headers: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    cap: int,
    deadline: float,
    follow_redirects: bool = False,
    token_url: str | None = None,
    insecure_hosts: frozenset[str] = frozenset(),
) -> Response:
    """Send one request; raise ``RegistryUnavailable`` (network) or ``RegistryProtocolError`` (cap).

    ``follow_redirects``: follow at most :data:`MAX_REDIRECTS` hops, never from https to plain
    http unless the target host is in ``insecure_hosts``; httpx drops ``Authorization`` when a hop
    leaves the origin. ``token_url``: this is a token request; messages name that realm instead
    of the registry.
    """
    try:
        async with asyncio.timeout(deadline):
            request = client.build_request(method, url, headers=headers, data=data)
            response = await _follow(client, request, host, follow=follow_redirects,
                                     insecure_hosts=insecure_hosts)
            try:
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > cap and method != "HEAD":
                    raise errors.RegistryProtocolError(
                        f"{where(host, token_url)}: answer of {length} bytes exceeds the {cap}-byte limit"
                    )
                body = await _read_capped(response, cap, where(host, token_url))
            finally:
                await response.aclose()
    except TimeoutError:
        raise errors.RegistryUnavailable(
            f"{where(host, token_url)}: no complete answer within {deadline:g}s"
        ) from None
    except httpx.RequestError as exc:
        raise describe_request_error(exc, host, token_url=token_url) from exc
    except httpx.InvalidURL as exc:  # a URL built from something the registry sent
        raise errors.RegistryProtocolError(f"{where(host, token_url)}: invalid URL ({exc})") from exc
    return Response(response.status_code, response.headers, body, str(response.url))


def _decoder(encoding: str, who: str) -> zlib._Decompress | None:
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise errors.RegistryProtocolError(f"{who}: unsupported content-encoding {printable(encoding[:40])!r}")


async def _read_capped(response: httpx.Response, cap: int, who: str) -> bytes:
    """The decoded body, stopping as soon as it passes ``cap`` bytes: decoding happens here, in
    bounded steps, because httpx inflates each network chunk whole (a 200 KiB gzip chunk can
    become 200 MiB before any check could run)."""
    if response.is_stream_consumed:  # a body httpx already holds (httpx.MockTransport, not a socket)
        if len(response.content) > cap:
            raise errors.RegistryProtocolError(f"{who}: answer exceeds the {cap}-byte limit")
        return response.content
    decoder = _decoder(str(response.headers.get("content-encoding", "")).strip().lower(), who)
    chunks: list[bytes] = []
    size = 0

    def take(data: bytes) -> None:
        nonlocal size
        size += len(data)
        if size > cap:
            raise errors.RegistryProtocolError(f"{who}: answer exceeds the {cap}-byte limit")
        chunks.append(data)

    try:
        async for raw in response.aiter_raw():
            if decoder is None:
                take(raw)
                continue
            data = decoder.decompress(raw, cap + 1 - size)
            take(data)
            while decoder.unconsumed_tail:
                take(decoder.decompress(decoder.unconsumed_tail, cap + 1 - size))
        if decoder is not None:
            take(decoder.flush())
    except zlib.error as exc:
        raise errors.RegistryProtocolError(f"{who}: unreadable compressed answer ({exc})") from None
    return b"".join(chunks)


async def _follow(client: httpx.AsyncClient, request: httpx.Request, host: str, *, follow: bool,
                  insecure_hosts: frozenset[str]) -> httpx.Response:
    for _ in range(MAX_REDIRECTS + 1):
        response = await client.send(request, stream=True, follow_redirects=False)
        target = response.next_request  # set by httpx for a redirect it was told not to follow
        if not follow or target is None:
            return response
        await response.aclose()
        allowed = target.url.host in insecure_hosts or target.url.netloc.decode() in insecure_hosts
        if request.url.scheme == "https" and target.url.scheme != "https" and not allowed:
            raise errors.RegistryProtocolError(
                f"registry {host}: refusing a redirect from https to plain http "
                f"({printable(target.url.host)}); list that host under RegistrySettings insecure to allow it"
            )
        request = target
    raise errors.RegistryProtocolError(
        f"registry {host}: more than {MAX_REDIRECTS} redirects (at {printable(str(request.url), limit=200)})"
    )
