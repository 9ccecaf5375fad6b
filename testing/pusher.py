"""Seed a registry over the distribution HTTP API: blobs, manifests, indexes, tags, deletes.

:class:`Pusher` is a small, thread-safe httpx client that answers whatever challenge the
registry sends (Basic, or Bearer with the token dance), so the same code seeds every auth mode.
It is the test bed's own client and deliberately shares no code with :mod:`imagebot.scan`:
digests it returns are computed from the bytes it sent, so tests can compare the scanner's
answers against an independent source.
"""

from __future__ import annotations

import re
import ssl
import threading
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Self

import httpx

from testing.credentials import Credentials
from testing.images import MANIFEST_ACCEPT, Blob, Format, Image, Index, Manifest, build_image

__all__ = ["ChallengeAuth", "PushError", "Pusher", "parse_challenge"]

_PARAM = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')
_REPO_PATH = re.compile(r"^/v2/(.+?)/(?:blobs|manifests|tags)/")


class PushError(RuntimeError):
    """The registry refused a seeding request; the message holds method, URL, status, body."""

    def __init__(self, response: httpx.Response) -> None:
        request = response.request
        super().__init__(
            f"{request.method} {request.url} -> {response.status_code}: {response.text[:500]}"
        )
        self.status_code = response.status_code


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``'Bearer realm="r",scope="a"'`` -> ``("bearer", {"realm": "r", "scope": "a"})``."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)).replace('\\"', '"')
        for m in _PARAM.finditer(rest)
    }
    return scheme.lower(), params


class ChallengeAuth(httpx.Auth):
    """Answer a registry's 401: Basic with ``credentials``, or fetch a Bearer token from the
    realm (with ``credentials`` as Basic, or anonymously when None). Tokens are cached per
    repository; safe to share between threads."""

    requires_response_body = True

    def __init__(self, credentials: Credentials | None) -> None:
        self._credentials = credentials
        self._lock = threading.Lock()
        self._basic = False
        self._tokens: dict[str, str] = {}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        key = self._key(request)
        self._authorize(request, key)
        response = yield request
        if response.status_code != 401:
            return
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic" and self._credentials is not None:
            with self._lock:
                self._basic = True
            request.headers["Authorization"] = f"Basic {self._credentials.auth}"
            yield request
        elif scheme == "bearer" and "realm" in params:
            query = httpx.QueryParams({"service": params.get("service", "")})
            for scope in params.get("scope", "").split():
                query = query.add("scope", scope)
            token_request = httpx.Request("GET", params["realm"], params=query)
            if self._credentials is not None:
                token_request.headers["Authorization"] = f"Basic {self._credentials.auth}"
            token_response = yield token_request
            if token_response.status_code != 200:
                return
            body = token_response.json()
            token = body.get("token") or body["access_token"]
            with self._lock:
                self._tokens[key] = token
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def _authorize(self, request: httpx.Request, key: str) -> None:
        with self._lock:
            token = self._tokens.get(key)
            basic = self._basic
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
        elif basic and self._credentials is not None:
            request.headers["Authorization"] = f"Basic {self._credentials.auth}"

    @staticmethod
    def _key(request: httpx.Request) -> str:
        match = _REPO_PATH.match(request.url.path)
        return match.group(1) if match else request.url.path


class Pusher:
    """Seeding client for one registry.

    ::

        with Pusher("http://127.0.0.1:41234", Credentials("alice", "pw")) as pusher:
            digest = pusher.push_image("library/app", "1.0.0", build_image())
    """

    def __init__(
        self,
        url: str,
        credentials: Credentials | None = None,
        *,
        verify: ssl.SSLContext | bool = True,
        max_connections: int = 32,
    ) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(
            base_url=self.url,
            auth=ChallengeAuth(credentials),
            verify=verify,
            timeout=30.0,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check(self, response: httpx.Response, *ok: int) -> httpx.Response:
        if response.status_code not in ok:
            raise PushError(response)
        return response

    # -- blobs and manifests ------------------------------------------------------------

    def upload_blob(self, repo: str, blob: Blob) -> None:
        """Monolithic upload (POST, then PUT to ``Location``); skipped when already present."""
        if self.client.head(f"/v2/{repo}/blobs/{blob.digest}").status_code == 200:
            return
        started = self._check(self.client.post(f"/v2/{repo}/blobs/uploads/"), 202)
        location = started.headers["Location"]
        separator = "&" if "?" in location else "?"
        self._check(
            self.client.put(
                f"{location}{separator}digest={blob.digest}",
                content=blob.data,
                headers={"Content-Type": "application/octet-stream"},
            ),
            201,
        )

    def put_manifest(self, repo: str, reference: str, manifest: Manifest) -> str:
        """PUT ``manifest`` under a tag or digest; returns its digest (checked against the
        registry's ``Docker-Content-Digest``)."""
        response = self._check(
            self.client.put(
                f"/v2/{repo}/manifests/{reference}",
                content=manifest.data,
                headers={"Content-Type": manifest.media_type},
            ),
            201,
        )
        answered = response.headers.get("Docker-Content-Digest")
        if answered is not None and answered != manifest.digest:
            raise AssertionError(f"registry says {answered}, bytes say {manifest.digest}")
        return manifest.digest

    def push_image(self, repo: str, tag: str, image: Image) -> str:
        for blob in image.blobs:
            self.upload_blob(repo, blob)
        return self.put_manifest(repo, tag, image.manifest)

    def push_index(self, repo: str, tag: str, index: Index) -> str:
        """Push every child by digest, then the index under ``tag``."""
        for child in index.children:
            self.push_image(repo, child.digest, child)
        return self.put_manifest(repo, tag, index.manifest)

    def push_tags(
        self,
        repo: str,
        tags: Iterable[str],
        *,
        fmt: Format = "oci",
        distinct: bool = True,
        make_image: Callable[[str], Image] | None = None,
        workers: int = 8,
    ) -> dict[str, str]:
        """Push many tags in parallel; returns ``{tag: manifest digest}``.

        By default each tag gets its own image (its config carries the tag as
        ``org.opencontainers.image.version``), so every tag has a different digest.
        ``distinct=False`` puts one manifest under every tag: one PUT per tag, for big fixtures.
        """
        tags = list(tags)
        if not tags:
            return {}
        if make_image is None:
            shared = None if distinct else build_image(fmt=fmt)

            def make_image(tag: str) -> Image:
                return build_image(fmt=fmt, labels={"org.opencontainers.image.version": tag})

        else:
            shared = None if distinct else make_image(tags[0])
        # upload the first image's blobs once, before the threads race for the shared layer
        for blob in (shared or make_image(tags[0])).blobs:
            self.upload_blob(repo, blob)

        def push(tag: str) -> tuple[str, str]:
            if shared is not None:
                return tag, self.put_manifest(repo, tag, shared.manifest)
            return tag, self.push_image(repo, tag, make_image(tag))

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return dict(pool.map(push, tags))

    def delete(self, repo: str, digest: str) -> None:
        """Delete a manifest by digest (2.8 refuses DELETE by tag); all its tags go with it."""
        self._check(self.client.delete(f"/v2/{repo}/manifests/{digest}"), 202)

    # -- reading back (independent of imagebot) -------------------------------------------

    def tags(self, repo: str) -> list[str] | None:
        """The raw tag list in server order; None when the registry answers ``tags: null``."""
        body = self._check(self.client.get(f"/v2/{repo}/tags/list"), 200).json()
        tags = body.get("tags")
        return None if tags is None else list(tags)

    def digest(self, repo: str, reference: str) -> str:
        """``Docker-Content-Digest`` of a HEAD with the full Accept list."""
        response = self._check(
            self.client.head(f"/v2/{repo}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}),
            200,
        )
        return response.headers["Docker-Content-Digest"]

    def catalog(self) -> list[str]:
        repos: list[str] = []
        url: str | None = "/v2/_catalog?n=1000"
        while url:
            response = self._check(self.client.get(url), 200)
            repos += response.json().get("repositories") or []
            url = response.links.get("next", {}).get("url")
        return repos

