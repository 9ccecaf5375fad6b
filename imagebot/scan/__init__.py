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
    "CredentialLookup", "DigestMode", "RequestObserver", "RetryPolicy", "ScanOptions", "refresh", "scan_all",
]

USER_AGENT = f"imagebot/{__version__} (+https://github.com/imagebot/imagebot)"

logger = logging.getLogger("imagebot.scan")


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
        found = await asyncio.gather(*(
            current_facts(http, repo, tags, credentials=credentials, settings=settings, sources=sources)
            for repo, tags in wanted
        ))
    pairs = zip(wanted, found, strict=True)
    return {repo.key: TagFacts(digests, urls) for (repo, _), (digests, urls) in pairs}


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
