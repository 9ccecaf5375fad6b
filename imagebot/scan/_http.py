"""Registry requests with authentication, retries, rate limits and per-registry circuit breakers.

Used by :mod:`imagebot.scan._distribution`. One :class:`RegistryHTTP` per run wraps one httpx
client. For each registry host it keeps a connection semaphore, what auth scheme the host asked
for, the last ``ratelimit-*`` figures, and whether the host is blocked for the rest of the run
(pull limit hit, too many auth failures, circuit open). The per-request state machine follows
registry-protocol §6: at most two auth round trips, no retry on 4xx, bounded backoff with full
jitter on 5xx/408/429/network errors, ``Retry-After`` honoured up to a cap, and
``requestDeadline`` bounding one logical request *with* its retries and auth round trips.

The waits come from the one retry policy (:mod:`imagebot.backoff`); the circuit breaker
(:data:`BREAKER_FAILURES`) and the deadline sit on top of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urljoin

import httpx

from imagebot import backoff, errors
from imagebot.model.registries import Credential
from imagebot.model.scans import RateBudget
from imagebot.scan import _transport
from imagebot.scan._auth import TokenCache, basic_header
from imagebot.scan._challenges import Challenge, parse_challenges, pick_challenge
from imagebot.scan._errors import body_summary, registry_error_codes
from imagebot.scan._links import same_origin

__all__ = ["RegistryHTTP", "RetryPolicy"]

logger = logging.getLogger("imagebot.scan")

_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_ERROR_BODY_CAP = 1024 * 1024


RetryPolicy = backoff.Backoff
"""Kept as the scan stage's name for :class:`imagebot.backoff.Backoff` (the one retry policy)."""

BREAKER_FAILURES = 12
"""Failed attempts in a row (network errors, 5xx, 408, 429) to one registry, across all its
repositories, that open its circuit breaker: the rest of the run skips that registry. A domain
rule on top of the retry policy."""


@dataclasses.dataclass(slots=True)
class _HostState:
    semaphore: asyncio.Semaphore
    basic: bool = False
    challenge: Challenge | None = None
    blocked: errors.ImagebotError | None = None
    failures: int = 0
    """Failed attempts in a row (reset by any answer that is not a retryable failure)."""
    limit: int | None = None
    remaining: int | None = None
    window: int | None = None
    low_budget_warned: bool = False
    ping: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    pinged: bool = False


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import datetime

    seconds = (when - datetime.datetime.now(datetime.UTC)).total_seconds()
    return seconds if seconds >= 0 else None


def _ratelimit_value(value: str | None) -> tuple[int | None, int | None]:
    """``100;w=21600`` -> ``(100, 21600)``: the figure and its window in seconds."""
    if not value:
        return None, None
    head, *params = (part.strip() for part in value.split(";"))
    window = next((int(p[2:]) for p in params if p.startswith("w=") and p[2:].isdigit()), None)
    return (int(head) if head.isdigit() else None), window


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def _budget_text(state: _HostState) -> str:
    """`` (limit 100 per 6h, 0 left; resets within 6h)`` from the last ratelimit-* headers."""
    if state.limit is None and state.remaining is None:
        return ""
    per = f" per {_duration(state.window)}" if state.window else ""
    resets = f"; resets within {_duration(state.window)}" if state.window else ""
    return f" (limit {state.limit}{per}, {state.remaining} left{resets})"


class RegistryHTTP:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_connections: int,
        deadline: float,
        retry: RetryPolicy = backoff.DEFAULT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        insecure_hosts: frozenset[str] = frozenset(),
        observe: Callable[[str, int | None, int | None], None] | None = None,
    ) -> None:
        self._client = client
        self._observe = observe
        self._max_connections = max_connections
        self._deadline = deadline
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        self._insecure_hosts = insecure_hosts
        self._rng = rng or random.Random()
        self._hosts: dict[str, _HostState] = {}
        self.tokens = TokenCache(client, deadline=deadline)

    def budget(self, host: str) -> RateBudget | None:
        """The registry's last ``ratelimit-*`` figures, for ``scan --json`` (None: never sent)."""
        state = self._hosts.get(host)
        if state is None or (state.limit is None and state.remaining is None):
            return None
        return RateBudget(limit=state.limit, remaining=state.remaining, window=state.window)

    def host_state(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostState(asyncio.Semaphore(self._max_connections))
        return state

    async def ping(self, *, host: str, base_url: str, credential: Credential | None) -> None:
        """``GET /v2/`` once per host per run: learn the auth scheme, catch non-registries early.

        A host that cannot be reached even after retries is blocked for the rest of the run.
        """
        state = self.host_state(host)
        async with state.ping:
            if state.pinged:
                return
            try:
                response = await self.request(
                    "GET", f"{base_url}/v2/", host=host, base_url=base_url, scope="",
                    credential=None, cap=_ERROR_BODY_CAP, passthrough=frozenset({400, 401, 404}),
                    authenticate=False,
                )
            except errors.RegistryUnavailable as exc:
                if not isinstance(exc, errors.RateLimited):
                    state.blocked = exc
                raise
            if response.status == 404:
                raise errors.RegistryError(
                    f"registry {host}: {base_url}/v2/ answered 404; this is not a registry API endpoint "
                    "(check the host name, or a path prefix such as Artifactory's)"
                )
            if response.status == 400 and b"HTTP request to an HTTPS server" in response.body:
                raise errors.RegistryError(
                    f"registry {host} speaks HTTPS; remove `insecure: true` (or the http:// mirror URL)"
                )
            if response.status == 401:
                challenge = pick_challenge(parse_challenges(response.headers.get_list("www-authenticate")))
                if challenge is not None and challenge.scheme == "bearer":
                    state.challenge = challenge
                elif challenge is not None and credential is not None and credential.password:
                    state.basic = True  # send Basic up front, saving a 401 round trip per request
            state.pinged = True

    async def request(
        self,
        method: str,
        url: str,
        *,
        host: str,
        base_url: str,
        scope: str,
        credential: Credential | None,
        accept: str = "application/json",
        cap: int,
        follow_redirects: bool = False,
        passthrough: frozenset[int] = frozenset({404}),
        authenticate: bool = True,
    ) -> _transport.Response:
        """A registry request; returns 2xx/3xx and ``passthrough`` answers, raises otherwise.

        Retries (:class:`RetryPolicy`) happen only while ``requestDeadline`` has time left for
        the wait and another try.
        """
        state = self.host_state(host)
        last: errors.ImagebotError | None = None
        started = self._clock()
        for attempt in range(self._retry.attempts):
            if state.blocked is not None:
                raise state.blocked
            remaining = self._deadline - (self._clock() - started)
            delay: float | None = None
            try:
                async with state.semaphore, asyncio.timeout(remaining):
                    if state.blocked is not None:  # opened while this task waited for a connection
                        raise state.blocked
                    if authenticate:
                        response = await self._authenticated(
                            method, url, host=host, base_url=base_url, scope=scope,
                            credential=credential, accept=accept, cap=cap,
                            follow_redirects=follow_redirects, state=state, deadline=remaining,
                        )
                    else:
                        response = await self._send(method, url, host, {"Accept": accept}, cap,
                                                    follow_redirects=follow_redirects, deadline=remaining)
            except TimeoutError:
                last = errors.RegistryUnavailable(
                    f"registry {host}: no complete answer within {self._deadline:g}s (requestDeadline)"
                )
                self._failed_attempt(state, host, last)
                break
            except errors.RegistryUnavailable as exc:
                if exc is state.blocked:
                    raise
                last = exc
            else:
                self._note_rate_limit(state, response, host)
                if response.status not in _RETRY_STATUSES:
                    if response.status < 400 or response.status in passthrough:
                        state.failures = 0
                        return response
                    return self._final(response, host=host, credential=credential)
                last, delay = self._retryable_status(response, host, state)
            self._failed_attempt(state, host, last)
            if attempt + 1 >= self._retry.attempts:
                break
            wait = delay if delay is not None else self._retry.delay(attempt, rng=self._rng)
            if self._clock() - started + wait >= self._deadline:
                logger.info("registry %s: %s; no time left within requestDeadline to retry", host, last)
                break
            logger.info("registry %s: %s; retrying in %.1fs", host, last, wait)
            await self._sleep(wait)
        assert last is not None
        raise last

    def _failed_attempt(self, state: _HostState, host: str, exc: errors.ImagebotError) -> None:
        state.failures += 1
        if state.failures >= BREAKER_FAILURES and state.blocked is None:
            state.blocked = errors.RegistryUnavailable(
                f"registry {host}: skipped for the rest of this run after {state.failures} failed "
                f"attempts in a row (last: {exc})"
            )

    def _retryable_status(
        self, response: _transport.Response, host: str, state: _HostState
    ) -> tuple[errors.ImagebotError, float | None]:
        summary = body_summary(response.body, response.content_type)
        if response.status != 429:
            return errors.RegistryUnavailable(f"registry {host}: answered {response.status}: {summary}"), None
        codes = [code for code, _ in registry_error_codes(response.body)]
        retry_after = _parse_retry_after(response.headers.get("retry-after"))
        if "TOOMANYREQUESTS" in codes and retry_after is None:
            # Docker Hub's pull limit: retrying within seconds is pointless; stop for this run
            state.blocked = errors.RateLimited(
                f"registry {host}: pull rate limit reached{_budget_text(state)}; "
                "skipped for the rest of this run",
                delay=3600,
            )
            raise state.blocked
        if retry_after is not None and not self._retry.honours(retry_after):
            state.blocked = errors.RateLimited(
                f"registry {host}: rate limited, asked to wait {retry_after:.0f}s; "
                "skipped for the rest of this run",
                delay=retry_after,
            )
            raise state.blocked
        return errors.RateLimited(f"registry {host}: rate limited (429): {summary}",
                                  delay=retry_after or 60), retry_after

    def _note_rate_limit(self, state: _HostState, response: _transport.Response, host: str) -> None:
        limit, limit_window = _ratelimit_value(response.headers.get("ratelimit-limit"))
        remaining, remaining_window = _ratelimit_value(response.headers.get("ratelimit-remaining"))
        if limit is None and remaining is None:
            return
        state.limit, state.remaining = limit, remaining
        state.window = remaining_window or limit_window
        if remaining is not None and remaining <= 0 and state.blocked is None:
            state.blocked = errors.RateLimited(
                f"registry {host}: pull budget exhausted{_budget_text(state)}; "
                "skipped for the rest of this run", delay=float(state.window or 3600),
            )
        elif remaining is not None and limit and remaining < limit // 10 and not state.low_budget_warned:
            state.low_budget_warned = True
            window = f" ({_duration(state.window)})" if state.window else ""
            logger.warning("registry %s: %s of %s requests left in the rate-limit window%s",
                           host, remaining, limit, window)

    def _final(self, response: _transport.Response, *, host: str,
               credential: Credential | None) -> _transport.Response:
        summary = body_summary(response.body, response.content_type)
        if response.status == 401:
            return self._auth_error(response, host, credential)
        if response.status == 403:
            return self._raise(errors.RegistryAccessDenied(
                f"registry {host}: access denied (403){self._who(credential)}: {summary}"
            ))
        return self._raise(errors.RegistryError(f"registry {host}: answered {response.status}: {summary}"))

    @staticmethod
    def _who(credential: Credential | None) -> str:
        if credential is None:
            return " for anonymous access; configure credentials (secretRef or docker config)"
        return f" for user {credential.username!r}" if credential.username else ""

    def _auth_error(self, response: _transport.Response, host: str,
                    credential: Credential | None) -> _transport.Response:
        challenge = pick_challenge(parse_challenges(response.headers.get_list("www-authenticate")))
        if challenge is not None and challenge.params.get("error") == "insufficient_scope":
            return self._raise(errors.RegistryAccessDenied(
                f"registry {host}: access denied (insufficient_scope){self._who(credential)}"
            ))
        if credential is None:
            return self._raise(errors.RegistryAuthError(
                f"registry {host}: authentication required and no credentials are configured "
                "(set secretRef, DOCKER_CONFIG or IMAGEBOT_REGISTRY_* variables)"
            ))
        return self._raise(errors.RegistryAuthError(
            f"registry {host}: credentials{self._who(credential)} from {credential.origin} were refused (401)"
        ))

    @staticmethod
    def _raise(exc: errors.ImagebotError) -> _transport.Response:
        raise exc

    async def _authenticated(
        self, method: str, url: str, *, host: str, base_url: str, scope: str,
        credential: Credential | None, accept: str, cap: int, follow_redirects: bool,
        state: _HostState, deadline: float,
    ) -> _transport.Response:
        scopes = frozenset({scope})
        headers = {"Accept": accept, "Docker-Distribution-API-Version": "registry/2.0"}
        authorization = self._known_authorization(state, scopes, credential, base_url)
        if authorization:
            headers["Authorization"] = authorization
        response = await self._send(method, url, host, headers, cap, follow_redirects=follow_redirects,
                                    deadline=deadline)
        fresh_token = False
        for _ in range(2):  # at most two auth round trips: first challenge, then an expired token
            if response.status != 401 or not same_origin(response.url, url):
                return response  # a 401 from redirected-to storage is not a registry challenge
            challenge = pick_challenge(parse_challenges(response.headers.get_list("www-authenticate")))
            if challenge is None:
                return response
            if fresh_token and challenge.params.get("error") == "invalid_token":
                raise self._refused_token(state, host, base_url, challenge, credential)
            if challenge.scheme == "basic":
                basic = basic_header(credential) if credential is not None and credential.password else None
                # refused only if *this* request already sent these credentials (state.basic is
                # per host: another repository's anonymous ping or request must not count)
                if basic is None or headers.get("Authorization") == basic:
                    return response
                state.basic = True
                headers["Authorization"] = basic
            else:
                if challenge.params.get("error") == "insufficient_scope" and "Authorization" in headers:
                    extra = challenge.params.get("scope", "")
                    if not extra or extra in scopes:
                        return response
                    scopes = scopes | frozenset(extra.split())
                state.challenge = challenge
                if "Authorization" in headers:
                    self.tokens.drop(challenge, scopes, credential, base_url)
                token = await self.tokens.token(
                    challenge, scopes, credential, registry_url=base_url, host=host
                )
                headers["Authorization"] = f"Bearer {token}"
                fresh_token = True
            response = await self._send(method, url, host, headers, cap, follow_redirects=follow_redirects,
                                        deadline=deadline)
        return response

    def _refused_token(self, state: _HostState, host: str, base_url: str, challenge: Challenge,
                       credential: Credential | None) -> errors.RegistryAuthError:
        # a token its own realm just issued is refused: no later request to this registry can
        # do better, so stop here (one refusal, not a token and two requests per repository)
        realm = urljoin(base_url, challenge.params.get("realm", ""))
        named = credential is not None and credential.username
        who = f"user {credential.username!r}" if credential is not None and named else "anonymous"
        error = errors.RegistryAuthError(
            f"registry {host}: refused the token from token server {realm} ({who}; 401 invalid_token): "
            "the registry does not accept its token server's tokens (issuer, audience or signing key); "
            "skipped for the rest of this run"
        )
        if state.blocked is None:
            state.blocked = error
        return error

    def _known_authorization(self, state: _HostState, scopes: frozenset[str],
                             credential: Credential | None, base_url: str) -> str | None:
        if state.basic and credential is not None and credential.password:
            return basic_header(credential)
        if state.challenge is not None:
            token = self.tokens.cached(state.challenge, scopes, credential, base_url)
            if token:
                return f"Bearer {token}"
        return None

    async def _send(self, method: str, url: str, host: str, headers: dict[str, str], cap: int,
                    *, follow_redirects: bool, deadline: float) -> _transport.Response:
        try:
            response = await _transport.send(
                self._client, method, url, host=host, headers=headers,
                cap=max(cap, _ERROR_BODY_CAP) if method != "HEAD" else cap,
                deadline=deadline, follow_redirects=follow_redirects, insecure_hosts=self._insecure_hosts,
            )
        except errors.ImagebotError:
            if self._observe is not None:
                self._observe(host, None, None)
            raise
        if self._observe is not None:
            remaining, _ = _ratelimit_value(response.headers.get("ratelimit-remaining"))
            self._observe(host, response.status, remaining)
        if response.status < 400 and len(response.body) > cap:
            raise errors.RegistryProtocolError(f"registry {host}: answer exceeds the {cap}-byte limit")
        return response
