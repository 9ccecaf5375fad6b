"""STAGE 1 — scan: list the tags (and digests) of every ImageRepository.

``scan_all(repositories, credentials=..., settings=..., state=...)`` returns one
:class:`~imagebot.model.scans.ScanResult` per repository, in input order. All repositories are
scanned concurrently over one httpx client, with a per-registry connection limit; a failing
registry never fails the others. Called by the ``scan`` command and the pipeline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import os
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import httpx

from imagebot import __version__
from imagebot.model import flux
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.registries import RegistrySettings, TLSMaterial
from imagebot.model.scans import ScanResult, TagFacts, TagMemory
from imagebot.scan._endpoints import host_of, targets
from imagebot.scan._errors import printable
from imagebot.scan._http import RegistryHTTP, RetryPolicy
from imagebot.scan._scanner import (
    CredentialLookup,
    DigestMode,
    RequestObserver,
    ScanOptions,
    current_facts,
    remember,
    scan_repository,
)

__all__ = [
    "CredentialLookup", "DigestMode", "RequestObserver", "RetryPolicy", "ScanOptions", "Session", "refresh",
    "remember", "scan_all",
]

USER_AGENT = f"imagebot/{__version__} (+https://github.com/imagebot/imagebot)"

logger = logging.getLogger("imagebot.scan")

_T = TypeVar("_T")


def _ssl_context(material: TLSMaterial) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if material.ca_pem:
        context.load_verify_locations(cadata=material.ca_pem)
    if material.cert_pem and material.key_pem:
        # load_cert_chain reads files only; keep them private and short-lived
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
            for path, text in ((cert, material.cert_pem), (key, material.key_pem)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(text)
            context.load_cert_chain(cert, key)
    return context


def _client(
    repositories: Sequence[flux.ImageRepository],
    settings: RegistrySettings,
    tls: Mapping[ObjectKey, TLSMaterial],
    transport: httpx.AsyncBaseTransport | None,
) -> httpx.AsyncClient:
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    if transport is None:
        for repo in repositories:
            material = tls.get(repo.key)
            if material is None:
                continue
            context = _ssl_context(material)
            for target in targets(repo.image, insecure=repo.insecure, mirrors=settings.mirrors,
                                  insecure_hosts=settings.insecure, custom_tls=True):
                if target.base_url.startswith("https://"):
                    mounts[f"https://{host_of(target.base_url)}"] = httpx.AsyncHTTPTransport(
                        verify=context, http2=settings.http2,
                    )
    return httpx.AsyncClient(
        transport=transport,
        mounts=mounts or None,
        http2=settings.http2,
        timeout=httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=None),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=50, keepalive_expiry=30),
        # only encodings _transport decodes itself, capping the decoded size as it goes
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        trust_env=True,  # HTTP(S)_PROXY / NO_PROXY
    )


async def _scan_with(
    http: RegistryHTTP,
    repositories: Sequence[flux.ImageRepository],
    *,
    credentials: CredentialLookup,
    settings: RegistrySettings,
    state: TagMemory | None,
    options: ScanOptions,
    now: datetime.datetime,
    on_result: Callable[[ScanResult], None] | None,
) -> list[ScanResult]:
    known: dict[str, frozenset[Tag]] = {}
    if state is not None and options.digests == "new":
        known = state.known_digests([r.image.canonical for r in repositories])

    async def one(repo: flux.ImageRepository) -> ScanResult:
        try:
            result = await scan_repository(
                http, repo, credentials=credentials, settings=settings,
                known_digests=known.get(repo.image.canonical, frozenset()), options=options, now=now,
            )
        except Exception as exc:  # the per-repository boundary: one bug, one failed result
            logger.debug("%s: unexpected error while scanning", repo.key, exc_info=True)
            reason = printable(f"{type(exc).__name__}: {exc}", limit=300)
            result = ScanResult(repo.key, repo.image, error=f"internal error while scanning: {reason}")
        if result.error is not None and not result.error.isprintable():  # one line, never raw
            result = dataclasses.replace(result, error=printable(result.error))
        if on_result is not None:
            on_result(result)
        return result

    results = list(await asyncio.gather(*(one(repo) for repo in repositories)))
    # one transaction for the whole run, after the network work (sqlite would block the loop)
    return remember(results, state, now) if state is not None else results


async def _scan_all(
    repositories: Sequence[flux.ImageRepository],
    *,
    credentials: CredentialLookup,
    settings: RegistrySettings,
    state: TagMemory | None,
    options: ScanOptions,
    tls: Mapping[ObjectKey, TLSMaterial],
    transport: httpx.AsyncBaseTransport | None,
    sleep: Callable[[float], Awaitable[None]] | None,
    clock: Callable[[], float],
    now: datetime.datetime,
    on_result: Callable[[ScanResult], None] | None,
) -> list[ScanResult]:
    async with _client(repositories, settings, tls, transport) as client:
        http = RegistryHTTP(
            client, max_connections=settings.max_connections_per_registry,
            deadline=settings.request_deadline, sleep=sleep or asyncio.sleep, clock=clock,
            insecure_hosts=settings.insecure, observe=options.observe,
        )
        return await _scan_with(http, repositories, credentials=credentials, settings=settings, state=state,
                                options=options, now=now, on_result=on_result)


def scan_all(
    repositories: Sequence[flux.ImageRepository],
    *,
    credentials: CredentialLookup,
    settings: RegistrySettings | None = None,
    state: TagMemory | None = None,
    options: ScanOptions | None = None,
    tls: Mapping[ObjectKey, TLSMaterial] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: datetime.datetime | None = None,
    on_result: Callable[[ScanResult], None] | None = None,
) -> list[ScanResult]:
    """Scan every repository (suspended ones are skipped by the caller); results in input order.

    ``transport``, ``sleep`` and ``clock`` are test seams (``httpx.MockTransport``, a no-op sleep
    and a clock it advances: ``requestDeadline`` is measured on ``clock``).
    """
    return asyncio.run(_scan_all(
        repositories, credentials=credentials, settings=settings or RegistrySettings(), state=state,
        options=options or ScanOptions(), tls=tls or {}, transport=transport, sleep=sleep, clock=clock,
        now=now or datetime.datetime.now(datetime.UTC), on_result=on_result,
    ))


async def _refresh_with(
    http: RegistryHTTP,
    wanted: Sequence[tuple[flux.ImageRepository, Sequence[Tag]]],
    *,
    credentials: CredentialLookup,
    settings: RegistrySettings,
    sources: bool,
) -> dict[ObjectKey, TagFacts]:
    found = await asyncio.gather(*(
        current_facts(http, repo, tags, credentials=credentials, settings=settings, sources=sources)
        for repo, tags in wanted
    ))
    pairs = zip(wanted, found, strict=True)
    return {repo.key: TagFacts(digests, urls) for (repo, _), (digests, urls) in pairs}


async def _refresh(
    wanted: Sequence[tuple[flux.ImageRepository, Sequence[Tag]]],
    *,
    credentials: CredentialLookup,
    settings: RegistrySettings,
    tls: Mapping[ObjectKey, TLSMaterial],
    transport: httpx.AsyncBaseTransport | None,
    sources: bool,
) -> dict[ObjectKey, TagFacts]:
    repositories = [repo for repo, _ in wanted]
    async with _client(repositories, settings, tls, transport) as client:
        http = RegistryHTTP(client, max_connections=settings.max_connections_per_registry,
                            deadline=settings.request_deadline, insecure_hosts=settings.insecure)
        return await _refresh_with(http, wanted, credentials=credentials, settings=settings, sources=sources)


def refresh(
    wanted: Sequence[tuple[flux.ImageRepository, Sequence[Tag]]],
    *,
    credentials: CredentialLookup,
    settings: RegistrySettings | None = None,
    tls: Mapping[ObjectKey, TLSMaterial] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sources: bool = False,
) -> dict[ObjectKey, TagFacts]:
    """What the given tags point at right now: one HEAD each (no Docker Hub pull counted); with
    ``sources``, also each image's ``org.opencontainers.image.source`` (manifest and config GETs).

    The pipeline calls this for the tags its policies selected, so digest reflection and
    re-pushed-tag detection see the registry as it is, not as a scan first recorded it, and pull
    requests can link to the source repositories.
    """
    if not wanted:
        return {}
    return asyncio.run(_refresh(wanted, credentials=credentials, settings=settings or RegistrySettings(),
                                tls=tls or {}, transport=transport, sources=sources))


class Session:
    """One registry client for a whole run: list the tags, let the policies choose, then look up
    the digests of the chosen tags over the same connections, with the same pings and tokens.

    The pipeline holds one from its scan to its last automation; before, the digest look-ups of
    a cold ``plan`` (then the selected and the current tag of each policy) opened a second client
    after the scan, with new connections, pings and token requests: 0.8 s of 2.1 s at 200
    repositories (issue 9). ``transport`` is a test seam, as for :func:`scan_all`.

    ::

        with scan.Session(repositories, credentials=keychain.lookup, settings=settings) as registry:
            results = registry.scan_all(repositories, state=store, options=scan.ScanOptions(digests="none"))
            facts = registry.refresh([(repository, [Tag("1.2.3")])])
    """

    def __init__(
        self,
        repositories: Sequence[flux.ImageRepository],
        *,
        credentials: CredentialLookup,
        settings: RegistrySettings | None = None,
        tls: Mapping[ObjectKey, TLSMaterial] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        observe: RequestObserver | None = None,
    ) -> None:
        self._known = {repo.key for repo in repositories}
        self._repositories = list(repositories)
        self._credentials = credentials
        self._settings = settings or RegistrySettings()
        self._tls = dict(tls or {})
        self._transport = transport
        self._observe = observe
        self._runner: asyncio.Runner | None = None
        self._client: httpx.AsyncClient | None = None
        self._http: RegistryHTTP | None = None

    def __enter__(self) -> Session:
        self._runner = asyncio.Runner()
        return self

    def __exit__(self, *exc_info: object) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        try:
            if self._client is not None:
                runner.run(self._client.aclose())
        finally:
            self._client = self._http = None
            runner.close()

    def _registry(self) -> RegistryHTTP:
        if self._http is None:  # made on first use, inside the runner's event loop
            self._client = _client(self._repositories, self._settings, self._tls, self._transport)
            self._http = RegistryHTTP(
                self._client, max_connections=self._settings.max_connections_per_registry,
                deadline=self._settings.request_deadline, insecure_hosts=self._settings.insecure,
                observe=self._observe,
            )
        return self._http

    def _run(self, work: Callable[[RegistryHTTP], Awaitable[_T]]) -> _T:
        if self._runner is None:
            raise RuntimeError("scan.Session is used outside its `with` block")
        runner = self._runner

        async def call() -> _T:
            return await work(self._registry())

        return runner.run(call())

    def scan_all(
        self,
        repositories: Sequence[flux.ImageRepository],
        *,
        state: TagMemory | None = None,
        options: ScanOptions | None = None,
        now: datetime.datetime | None = None,
        on_result: Callable[[ScanResult], None] | None = None,
    ) -> list[ScanResult]:
        """:func:`scan_all` on this session's client (``options.observe`` is the session's)."""
        self._check(repositories)
        when = now or datetime.datetime.now(datetime.UTC)
        return self._run(lambda http: _scan_with(
            http, repositories, credentials=self._credentials, settings=self._settings, state=state,
            options=options or ScanOptions(), now=when, on_result=on_result,
        ))

    def refresh(
        self, wanted: Sequence[tuple[flux.ImageRepository, Sequence[Tag]]], *, sources: bool = False,
    ) -> dict[ObjectKey, TagFacts]:
        """:func:`refresh` on this session's client."""
        if not wanted:
            return {}
        self._check([repo for repo, _ in wanted])
        return self._run(lambda http: _refresh_with(
            http, wanted, credentials=self._credentials, settings=self._settings, sources=sources,
        ))

    def _check(self, repositories: Sequence[flux.ImageRepository]) -> None:
        # the client's TLS transports were made for the session's repositories
        unknown = [str(repo.key) for repo in repositories if repo.key not in self._known]
        if unknown:
            raise ValueError(f"scan.Session was not opened for {', '.join(unknown)}")
