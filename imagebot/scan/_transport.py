"""One HTTP exchange with a size cap and an overall deadline: the floor every request stands on.

Used by :mod:`imagebot.scan._auth` (token requests) and :mod:`imagebot.scan._http` (registry
requests). httpx's read timeout applies per socket read, so a slow-dripping body could hold a
request forever; here the whole exchange, body included, must finish within ``deadline`` seconds,
and the decoded body may not exceed ``cap`` bytes.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping

import httpx

from imagebot import errors
from imagebot.scan._errors import describe_request_error, where

__all__ = ["Response", "send"]


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
) -> Response:
    """Send one request; raise ``RegistryUnavailable`` (network) or ``RegistryProtocolError`` (cap).

    ``token_url``: this is a token request; messages name that realm instead of the registry.
    """
    try:
        async with asyncio.timeout(deadline):
            request = client.build_request(method, url, headers=headers, data=data)
            response = await client.send(request, stream=True, follow_redirects=follow_redirects)
            try:
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > cap and method != "HEAD":
                    raise errors.RegistryProtocolError(
                        f"{where(host, token_url)}: answer of {length} bytes exceeds the {cap}-byte limit"
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > cap:  # decoded bytes: a small gzip body can expand a lot
                        raise errors.RegistryProtocolError(
                            f"{where(host, token_url)}: answer exceeds the {cap}-byte limit"
                        )
                    chunks.append(chunk)
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
    return Response(response.status_code, response.headers, b"".join(chunks), str(response.url))
