"""Bearer tokens for registries: request, cache, single-flight, expiry (registry-protocol §4–5).

Used by :mod:`imagebot.scan._http` when a registry answers 401 with a Bearer challenge. Tokens
are cached per (realm, service, scopes, user); one request goes out per key however many tasks
wait for it; a token lives ``expires_in`` seconds (at least 60) from ``issued_at`` and is renewed
10% early. Identity tokens use the OAuth2 POST flow, falling back to GET (with the identity token
as Basic password) when the server has none — remembered per realm, so one POST per run. Realms
on link-local addresses (cloud metadata services) and plain-http realms of https registries are
refused before any request.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime
import ipaddress
import json
import time
from collections.abc import Callable
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from imagebot import errors
from imagebot.model.registries import Credential
from imagebot.scan import _transport
from imagebot.scan._challenges import Challenge
from imagebot.scan._errors import body_summary

__all__ = ["TokenCache", "basic_header"]

_TOKEN_CAP = 64 * 1024
_MIN_LIFETIME = 60.0
# the AWS instance metadata service over IPv6 is not link-local, so it is named
_METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254")})


def basic_header(credential: Credential) -> str:
    raw = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _link_local(hostname: str | None) -> bool:
    try:
        address = ipaddress.ip_address((hostname or "").strip("[]"))
    except ValueError:
        return False
    return address.is_link_local or address in _METADATA_ADDRESSES


@dataclasses.dataclass(frozen=True, slots=True)
class _Key:
    realm: str
    service: str
    scopes: frozenset[str]
    user: str


def _lifetime(answer: dict[str, object], wall_now: datetime.datetime) -> float:
    raw = answer.get("expires_in")
    expires_in = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else 0.0
    expires_in = max(expires_in, _MIN_LIFETIME)
    issued_at = answer.get("issued_at")
    age = 0.0
    if isinstance(issued_at, str):
        try:
            issued = datetime.datetime.fromisoformat(issued_at.replace("Z", "+00:00"))
        except ValueError:
            issued = None
        # a missing, zero (Go's 0001-01-01) or future issue time means "now" (clock skew)
        if issued is not None and issued.tzinfo is not None and issued.year > 1:
            age = max(0.0, (wall_now - issued).total_seconds())
    remaining = expires_in - age
    return remaining - max(remaining * 0.1, 0.0) if remaining > 0 else 0.0


class TokenCache:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self._client = client
        self._deadline = deadline
        self._clock = clock
        self._wall_clock = wall_clock
        self._tokens: dict[_Key, tuple[str, float]] = {}
        self._locks: dict[_Key, asyncio.Lock] = {}
        self._no_oauth: set[str] = set()
        """Realms that answered the OAuth2 POST with 404: they get GET requests only."""
        self.requests = 0
        """Token requests sent (for tests of single-flight and caching)."""

    def cached(self, challenge: Challenge, scopes: frozenset[str], credential: Credential | None,
               registry_url: str) -> str | None:
        key = self._key(challenge, scopes, credential, registry_url)
        entry = self._tokens.get(key)
        if entry is not None and entry[1] > self._clock():
            return entry[0]
        return None

    def drop(self, challenge: Challenge, scopes: frozenset[str], credential: Credential | None,
             registry_url: str) -> None:
        self._tokens.pop(self._key(challenge, scopes, credential, registry_url), None)

    def _key(self, challenge: Challenge, scopes: frozenset[str], credential: Credential | None,
             registry_url: str) -> _Key:
        realm = urljoin(registry_url, challenge.params.get("realm", ""))
        return _Key(realm, challenge.params.get("service", ""), scopes,
                    credential.username if credential else "")

    async def token(self, challenge: Challenge, scopes: frozenset[str], credential: Credential | None,
                    *, registry_url: str, host: str) -> str:
        key = self._key(challenge, scopes, credential, registry_url)
        if not challenge.params.get("realm"):
            raise errors.RegistryProtocolError(f"registry {host}: Bearer challenge without a realm")
        realm = urlsplit(key.realm)
        if realm.scheme == "http" and urlsplit(registry_url).scheme == "https":
            raise errors.RegistryAuthError(
                f"registry {host}: refusing a plain-http token realm ({realm.hostname}) for an https registry"
            )
        if _link_local(realm.hostname):
            raise errors.RegistryAuthError(
                f"registry {host}: refusing token realm {realm.netloc}: a link-local address, where cloud "
                "metadata services answer; a registry has no business sending credentials there"
            )
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # single flight: waiters find the token the first task fetched
            entry = self._tokens.get(key)
            if entry is not None and entry[1] > self._clock():
                return entry[0]
            token, lifetime = await self._fetch(key, credential, host)
            self._tokens[key] = (token, self._clock() + lifetime)
            return token

    async def _fetch(self, key: _Key, credential: Credential | None, host: str) -> tuple[str, float]:
        if credential is not None and credential.registry_token:
            return credential.registry_token, _MIN_LIFETIME
        response = None
        if credential is not None and credential.identity_token and key.realm not in self._no_oauth:
            response = await self._post_refresh(key, credential, host)
        if response is None:
            response = await self._get(key, credential, host)
        realm_host = urlsplit(key.realm).netloc
        if response.status in (401, 403):
            who = "anonymous access"
            if credential is not None and credential.username:
                who = f"user {credential.username!r}"
            raise errors.RegistryAuthError(
                f"registry {host}: token server {realm_host} refused {who} ({response.status})"
            )
        if response.status != 200:
            raise errors.RegistryUnavailable(
                f"registry {host}: token server {realm_host} answered {response.status}: "
                f"{body_summary(response.body, response.content_type)}"
            )
        try:
            answer = json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            answer = None
        token = (answer.get("token") or answer.get("access_token")) if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise errors.RegistryProtocolError(
                f"registry {host}: token server {realm_host} answered without a token "
                f"({body_summary(response.body, response.content_type)})"
            )
        assert isinstance(answer, dict)
        return token, _lifetime(answer, self._wall_clock())

    async def _get(self, key: _Key, credential: Credential | None, host: str) -> _transport.Response:
        self.requests += 1
        query: list[tuple[str, str]] = []
        if key.service:
            query.append(("service", key.service))
        query.extend(("scope", scope) for scope in sorted(key.scopes))
        headers: dict[str, str] = {}
        if credential is not None and (credential.password or credential.identity_token):
            # without OAuth2 an identity token is presented as the password (ACR, docker login)
            basic = credential if credential.password else Credential(
                username=credential.username or "<token>", password=credential.identity_token)
            query.append(("account", basic.username))
            headers["Authorization"] = basic_header(basic)
        # keep a query string the realm already carries
        url = key.realm + ("&" if "?" in key.realm else "?") + urlencode(query) if query else key.realm
        return await _transport.send(self._client, "GET", url, host=host, headers=headers,
                                     cap=_TOKEN_CAP, deadline=self._deadline, token_url=key.realm)

    async def _post_refresh(self, key: _Key, credential: Credential, host: str) -> _transport.Response | None:
        self.requests += 1
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credential.identity_token,
            "client_id": "imagebot",
            "scope": " ".join(sorted(key.scopes)),
        }
        if key.service:
            form["service"] = key.service
        response = await _transport.send(self._client, "POST", key.realm, host=host, data=form,
                                         cap=_TOKEN_CAP, deadline=self._deadline, token_url=key.realm)
        if response.status == 404:  # no OAuth2 support: GET from now on
            self._no_oauth.add(key.realm)
            return None
        return response
