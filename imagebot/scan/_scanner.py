"""Scanning ImageRepositories: list, exclude, sort, resolve digests, remember in the state store.

Called by :func:`imagebot.scan.scan_all`. Each repository is scanned on its own: its mirrors are
tried in order before the registry itself, and a failure becomes that repository's
``ScanResult.error`` without touching the others.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import re
from collections.abc import Callable, Sequence
from typing import Literal

from imagebot import errors, patterns
from imagebot.model import flux
from imagebot.model.ids import Digest, Tag
from imagebot.model.images import TagList
from imagebot.model.registries import Credential, RegistrySettings
from imagebot.model.scans import ScanResult, TagMemory, TagRecord
from imagebot.scan import _distribution
from imagebot.scan._endpoints import Target, host_of, targets
from imagebot.scan._http import RegistryHTTP

__all__ = ["CredentialLookup", "DigestMode", "ScanOptions", "current_facts", "remember", "scan_repository"]

logger = logging.getLogger("imagebot.scan")

CredentialLookup = Callable[[str, str, "str | None"], "Credential | None"]
"""``(registry host, repository path, secretRef name) -> Credential | None``."""

DigestMode = Literal["none", "new", "all"]

_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
"""The OCI tag grammar: anything else cannot be a tag, whatever a registry lists."""
_SAMPLES = 3
_ARTIFACT_TAG = re.compile(r"(sha256|sha384|sha512)-[0-9a-f]{32,128}(\.(sig|att|sbom))?")
"""cosign's signature/attestation/SBOM tags and the OCI referrers fallback tag: never an image a
Deployment should run, whatever the user's exclusionList says (opt in per ImageRepository)."""


RequestObserver = Callable[[str, int | None, int | None], None]


@dataclasses.dataclass(frozen=True, slots=True)
class ScanOptions:
    digests: DigestMode = "new"
    """``new``: resolve digests of tags the state store has no digest for; ``all``: every tag."""
    max_digests: int = 500
    """Digest look-ups per repository per run; the rest are resolved by later runs."""
    created: bool = False
    """Also read each newly resolved tag's creation time from its config blob (extra requests)."""
    observe: RequestObserver | None = None
    """Told ``(host, status, ratelimit-remaining)`` after every registry request (status
    ``None``: no answer) — the service's metrics."""


def _compile_exclusions(repo: flux.ImageRepository) -> list[patterns.Pattern]:
    compiled = []
    for pattern in repo.exclusion_list:
        try:
            compiled.append(patterns.compile_pattern(pattern))
        except patterns.InvalidPattern as exc:
            raise errors.ConfigError(
                f"{repo.source}: ImageRepository {repo.key}: spec.exclusionList: "
                f"invalid pattern {pattern!r}: {exc}"
            ) from None
    return compiled


def _valid_tags(raw: list[str], image: str) -> list[str]:
    valid = [t for t in raw if _TAG_RE.fullmatch(t)]
    if len(valid) < len(raw):
        invalid = [t for t in raw if not _TAG_RE.fullmatch(t)]
        shown = ", ".join(ascii(t[:40]) + (f"…({len(t)} characters)" if len(t) > 40 else "")
                          for t in invalid[:_SAMPLES])
        logger.warning("%s: ignored %d tags outside the OCI tag grammar: %s%s", image, len(invalid),
                       shown, ", …" if len(invalid) > _SAMPLES else "")
    return valid


def _report(path: str, what: str, tags: list[Tag], failed: list[tuple[Tag, errors.ImagebotError]]) -> None:
    """One warning per repository for every tag whose look-up failed (not one per tag)."""
    if not failed:
        return
    order = {tag: i for i, tag in enumerate(tags)}
    failed.sort(key=lambda pair: order[pair[0]])
    names = ", ".join(t for t, _ in failed[:_SAMPLES]) + (", …" if len(failed) > _SAMPLES else "")
    noun = "tag" if len(failed) == 1 else "tags"
    logger.warning("%s: no %s for %d %s (%s): %s", path, what, len(failed), noun, names, failed[0][1])


async def _resolve_digests(
    http: RegistryHTTP, endpoint: _distribution.Endpoint, tags: list[Tag], options: ScanOptions,
    *, artifacts: set[Tag] | None = None,
) -> tuple[dict[Tag, Digest], dict[Tag, datetime.datetime]]:
    """Digests (and with ``options.created`` creation times) of ``tags``; tags whose manifest,
    once read, turns out not to be an image are added to ``artifacts``."""
    limited: list[Tag] = []
    failed: list[tuple[Tag, errors.ImagebotError]] = []
    no_created: list[tuple[Tag, errors.ImagebotError]] = []

    def rate_limited(tag: Tag, exc: errors.RateLimited) -> None:
        # the listing stands; what is missing is resolved by a later run
        if not limited:
            logger.warning("%s: digests left unresolved: %s", endpoint.path, exc)
        limited.append(tag)

    async def one(tag: Tag) -> tuple[Tag, Digest | None, datetime.datetime | None]:
        try:
            digest = await _distribution.head_digest(http, endpoint, tag)
        except errors.RateLimited as exc:
            rate_limited(tag, exc)
            return tag, None, None
        except (errors.RegistryError, errors.RegistryUnavailable) as exc:
            failed.append((tag, exc))
            return tag, None, None
        created = None
        if options.created:  # a digest already obtained is kept whatever happens here
            try:
                facts = await _distribution.image_facts(http, endpoint, tag)
                created = facts.created
                if facts.artifact and artifacts is not None:
                    artifacts.add(tag)
            except errors.RateLimited as exc:
                rate_limited(tag, exc)
            except (errors.RegistryError, errors.RegistryUnavailable) as exc:
                no_created.append((tag, exc))
        return tag, digest, created

    results = await asyncio.gather(*(one(tag) for tag in tags[: options.max_digests]))
    _report(endpoint.path, "digest", tags, failed)
    _report(endpoint.path, "creation time", tags, no_created)
    digests = {tag: digest for tag, digest, _ in results if digest is not None}
    created = {tag: when for tag, _, when in results if when is not None}
    return digests, created


def _targets(repo: flux.ImageRepository, settings: RegistrySettings) -> list[Target]:
    return targets(repo.image, insecure=repo.insecure, mirrors=settings.mirrors,
                   insecure_hosts=settings.insecure, custom_tls=repo.cert_secret_ref is not None)


async def _connect(
    http: RegistryHTTP, repo: flux.ImageRepository, target: Target, credentials: CredentialLookup,
) -> _distribution.Endpoint:
    """The endpoint of ``repo`` at ``target`` with its credential, pinged (``GET /v2/``, once per
    host per run); raises what the ping raised, so callers try the next target."""
    host = host_of(target.base_url)
    credential = credentials(target.credential_host, repo.image.path, repo.secret_ref)
    await http.ping(host=host, base_url=target.base_url, credential=credential)
    return _distribution.Endpoint(target.base_url, host, repo.image.path, credential)


async def scan_repository(
    http: RegistryHTTP,
    repo: flux.ImageRepository,
    *,
    credentials: CredentialLookup,
    settings: RegistrySettings,
    known_digests: frozenset[Tag],
    options: ScanOptions,
    now: datetime.datetime,
) -> ScanResult:
    """List one repository (mirrors first); the TagList's first-seen data is added by the caller,
    which records every repository of the run in the state store in one transaction."""
    image = repo.image
    try:
        exclusions = _compile_exclusions(repo)
    except errors.ConfigError as exc:
        return ScanResult(repo.key, image, error=str(exc))
    failures: list[str] = []
    retryable = True
    tried: list[Target] = []
    for target in _targets(repo, settings):
        host = host_of(target.base_url)
        tried.append(target)
        try:
            async with asyncio.timeout(repo.timeout.total_seconds()):
                endpoint = await _connect(http, repo, target, credentials)
                raw = _valid_tags(await _distribution.list_tags(http, endpoint, max_tags=settings.max_tags),
                                  image.canonical)
                excluded = {t for p in exclusions
                            for t, hit in zip(raw, p.search_all(raw), strict=True) if hit}
                kept = {t for t in raw if t not in excluded
                        and (repo.include_artifacts or not _ARTIFACT_TAG.fullmatch(t))}
                tags = [Tag(t) for t in sorted(kept, reverse=True)]  # Flux stores descending byte order
                wanted = [t for t in tags if options.digests == "all"
                          or (options.digests == "new" and t not in known_digests)]
                artifacts: set[Tag] = set()
                digests, created = await _resolve_digests(http, endpoint, wanted, options,
                                                          artifacts=artifacts)
                if artifacts and not repo.include_artifacts:  # Helm charts, WASM, … are no candidates
                    logger.info("%s: %d tags are not container images (%s); left out",
                                repo.key, len(artifacts), ", ".join(sorted(artifacts)[:_SAMPLES]))
                    tags = [t for t in tags if t not in artifacts]
                    digests = {t: d for t, d in digests.items() if t not in artifacts}
        except TimeoutError:
            failures.append(f"registry {host}: scan exceeded the {repo.timeout} timeout")
            continue
        except errors.ImagebotError as exc:
            failures.append(f"mirror {exc}" if target.mirror else str(exc))
            retryable = retryable and isinstance(exc, errors.TemporaryError)
            if target.mirror:
                logger.info("%s: mirror %s failed (%s); trying the next endpoint", repo.key, host, exc)
            continue
        tag_list = TagList(repo=image, tags=tuple(tags), scanned_at=now, digests=digests, created=created)
        return ScanResult(repo.key, image, tags=tag_list, endpoint=target.base_url,
                          rate_limit=http.budget(host))
    error = failures[-1] if len(failures) == 1 else "; ".join(failures)
    budget = next((b for b in (http.budget(host_of(t.base_url)) for t in reversed(tried)) if b), None)
    return ScanResult(repo.key, image, error=error, retryable=retryable, rate_limit=budget)


def _with_records(tags: TagList, records: dict[Tag, TagRecord]) -> TagList:
    kept = set(tags.tags)
    digests = {t: r.last_digest for t, r in records.items() if r.last_digest and t in kept}
    digests.update(tags.digests)
    return dataclasses.replace(
        tags,
        digests=digests,
        first_seen={t: r.first_seen for t, r in records.items() if t in kept},
        first_digests={t: r.first_digest for t, r in records.items() if r.first_digest and t in kept},
    )


def remember(results: list[ScanResult], state: TagMemory, now: datetime.datetime) -> list[ScanResult]:
    """Record every listed tag (first seen ``now``) and digest, and add the state to each TagList."""
    listed = {r.image.canonical: r.tags for r in results if r.tags is not None}
    records = state.record_many(
        {repo: (tags.tags, tags.digests) for repo, tags in listed.items()}, now=now
    )
    return [
        dataclasses.replace(r, tags=_with_records(r.tags, records[r.image.canonical]))
        if r.tags is not None else r
        for r in results
    ]


async def current_facts(
    http: RegistryHTTP,
    repo: flux.ImageRepository,
    tags: Sequence[Tag],
    *,
    credentials: CredentialLookup,
    settings: RegistrySettings,
    sources: bool,
) -> tuple[dict[Tag, Digest], dict[Tag, str]]:
    """What each tag points at right now (HEAD; mirrors first), and with ``sources`` the image's
    source URL; a tag is missing where its look-up failed."""
    for target in _targets(repo, settings):
        try:
            endpoint = await _connect(http, repo, target, credentials)
        except errors.ImagebotError as exc:
            logger.info("%s: %s; trying the next endpoint", repo.key, exc)
            continue
        digests, _ = await _resolve_digests(http, endpoint, list(tags), ScanOptions(max_digests=len(tags)))
        found: dict[Tag, str] = {}
        for tag in tags if sources else ():
            try:
                source = (await _distribution.image_facts(http, endpoint, tag)).source
            except (errors.RegistryError, errors.RegistryUnavailable) as exc:
                logger.info("%s: no source label for %s: %s", repo.key, tag, exc)
                continue
            if source:
                found[tag] = source
        return digests, found
    return {}, {}
