"""An in-memory registry for ``httpx.MockTransport``: what a real 2.8 registry cannot produce.

``FakeRegistry`` serves tag lists (optionally in ``Link``-paged chunks), manifests, a Bearer token
realm (optionally on another host) or Basic auth, and lets a test queue faults per path: 429 with
or without ``Retry-After``, HTML error pages, malformed JSON, slow or huge bodies.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from urllib.parse import parse_qs

import httpx

Handler = Callable[[httpx.Request], httpx.Response]


class SlowStream(httpx.AsyncByteStream):
    """A body that drips a byte at a time and never ends: only an overall deadline stops it."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import asyncio

        while True:
            await asyncio.sleep(0.01)
            yield b" "


class ChunkedStream(httpx.AsyncByteStream):
    """``data`` as a real socket delivers it: in chunks, read (and decoded) by the client."""

    def __init__(self, data: bytes, size: int = 64 * 1024) -> None:
        self.data, self.size = data, size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), self.size):
            yield self.data[start:start + self.size]


@dataclasses.dataclass
class FakeRegistry:
    host: str = "registry.test"
    tags: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    page_size: int | None = None
    """Serve tag lists in pages of this size with relative ``Link`` headers."""
    auth: str = "none"  # none | bearer | basic
    realm: str = "https://auth.test/token"
    users: dict[str, str] = dataclasses.field(default_factory=lambda: {"alice": "s3cret"})
    token_ttl: int | None = 300
    faults: dict[str, deque[Handler]] = dataclasses.field(default_factory=lambda: defaultdict(deque))
    requests: list[httpx.Request] = dataclasses.field(default_factory=list)
    """Every API request except the ``/v2/`` pings."""
    pings: list[httpx.Request] = dataclasses.field(default_factory=list)
    token_requests: list[httpx.Request] = dataclasses.field(default_factory=list)
    digests_via_header: bool = True
    oauth: bool = True
    """Answer the OAuth2 POST flow (refresh tokens); False: 404, as servers without it do."""
    refresh_token: str = "rt-good"
    issued: set[str] = dataclasses.field(default_factory=set)
    accept_tokens: bool = True
    """False: the registry refuses every token its realm issues (``invalid_token``), as when the
    registry does not trust the token server's signing key."""

    def fail(self, path: str, *handlers: Handler) -> None:
        """Answer the next requests to ``path`` with these handlers, then behave normally."""
        self.faults[path].extend(handlers)

    def manifest(self, repo: str, tag: str) -> bytes:
        return json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "0" * 64,
                       "size": 2},
            "layers": [], "annotations": {"tag": f"{repo}:{tag}"},
        }).encode()

    def digest(self, repo: str, tag: str) -> str:
        return "sha256:" + hashlib.sha256(self.manifest(repo, tag)).hexdigest()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- request handling -------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.host not in (request.url.host, request.url.netloc.decode()):
            self.token_requests.append(request)
            return self._token(request)
        queue = self.faults.get(request.url.path)
        if request.url.path == "/v2/":
            self.pings.append(request)
            if queue:
                return queue.popleft()(request)
            return self._check_auth(request) or httpx.Response(200, json={})
        self.requests.append(request)
        if queue:
            return queue.popleft()(request)
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        path = request.url.path
        if path.endswith("/tags/list"):
            return self._tags(request, path.removeprefix("/v2/").removesuffix("/tags/list"))
        if "/manifests/" in path:
            repo, _, tag = path.removeprefix("/v2/").partition("/manifests/")
            if tag not in self.tags.get(repo, []):
                return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
            body = self.manifest(repo, tag)
            headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
            if self.digests_via_header:
                headers["Docker-Content-Digest"] = self.digest(repo, tag)
            if request.method == "HEAD":
                return httpx.Response(200, headers={**headers, "Content-Length": str(len(body))})
            return httpx.Response(200, headers=headers, content=body)
        return httpx.Response(404, text="404 page not found")

    def _scope(self, request: httpx.Request) -> str:
        path = request.url.path.removeprefix("/v2/")
        for marker in ("/tags/list", "/manifests/"):
            if marker in path:
                return f"repository:{path.split(marker)[0]}:pull"
        return ""

    def _check_auth(self, request: httpx.Request) -> httpx.Response | None:
        header = request.headers.get("authorization", "")
        if self.auth == "basic":
            if header.startswith("Basic "):
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                if self.users.get(user) == password:
                    return None
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="fake"'},
                                  json={"errors": [{"code": "UNAUTHORIZED"}]})
        if self.auth == "bearer":
            scope = self._scope(request)
            if header.startswith("Bearer "):
                token = header[7:]
                if token not in self.issued or not self.accept_tokens:
                    return self._challenge(scope, error="invalid_token")
                if scope and scope not in token:
                    return self._challenge(scope, error="insufficient_scope")
                return None
            return self._challenge(scope)
        return None

    def _challenge(self, scope: str, error: str | None = None) -> httpx.Response:
        value = f'Bearer realm="{self.realm}",service="{self.host}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return httpx.Response(401, headers={"WWW-Authenticate": value},
                              json={"errors": [{"code": "UNAUTHORIZED"}]})

    def _token(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            if not self.oauth:
                return httpx.Response(404, text="404 page not found")
            form = parse_qs(request.content.decode())
            if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [self.refresh_token]:
                return httpx.Response(401, json={"error": "invalid_grant"})
            token = f"tok{len(self.issued)}|{' '.join(sorted(form.get('scope', [''])[0].split()))}"
            self.issued.add(token)
            return httpx.Response(200, json={"access_token": token, "expires_in": 300})
        query = parse_qs(request.url.query.decode())
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(user) != password:
                return httpx.Response(401, json={"details": "bad credentials"})
        scopes = " ".join(sorted(query.get("scope", [])))
        token = f"tok{len(self.issued)}|{scopes}"
        self.issued.add(token)
        body: dict[str, object] = {"token": token}
        if self.token_ttl is not None:
            body["expires_in"] = self.token_ttl
        return httpx.Response(200, json=body)

    def _tags(self, request: httpx.Request, repo: str) -> httpx.Response:
        if repo not in self.tags:
            return httpx.Response(404, json={"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known"}]})
        tags = self.tags[repo]
        if self.page_size is None:
            return httpx.Response(200, json={"name": repo, "tags": tags})
        start = int(parse_qs(request.url.query.decode()).get("cursor", ["0"])[0])
        page = tags[start:start + self.page_size]
        headers = {}
        if start + self.page_size < len(tags):
            headers["Link"] = f'</v2/{repo}/tags/list?cursor={start + self.page_size}>; rel="next"'
        return httpx.Response(200, json={"name": repo, "tags": page}, headers=headers)
