"""The OCI distribution API calls imagebot makes: tag listing, manifest digests, creation time.

Used by :mod:`imagebot.scan._scanner`. Registry URLs are built only here. Tag listing follows
``Link`` headers and nothing else (pages may be shorter than ``n``; registries may ignore ``n``),
rejects cross-origin links, and never trusts server order. Digests come from ``HEAD`` with the
full Accept list (the same list every time, so the digest cannot change with it).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import re
from typing import Any

from imagebot import errors
from imagebot.model.ids import Digest, Tag
from imagebot.model.registries import Credential
from imagebot.scan import _transport
from imagebot.scan._errors import printable, registry_error_codes
from imagebot.scan._http import RegistryHTTP
from imagebot.scan._links import next_link, same_origin

__all__ = ["MANIFEST_ACCEPT", "Endpoint", "ImageFacts", "head_digest", "image_facts", "list_tags"]

MANIFEST_ACCEPT = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
_INDEX_TYPES = frozenset({
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
})
_MANIFEST_TYPES = frozenset({
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
})

logger = logging.getLogger("imagebot.scan")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
_PAGE_CAP = 8 * 1024 * 1024
_MANIFEST_CAP = 4 * 1024 * 1024
_PAGE_SIZES = ("1000", "100", None)  # fallbacks for registries that refuse n=1000 (ECR: 405)
_MAX_PAGES = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to send API calls for one repository, and as whom."""

    base_url: str
    """``https://registry-1.docker.io``, ``http://127.0.0.1:5000``."""
    host: str
    """host[:port] of ``base_url``: the key for per-registry limits and messages."""
    path: str
    credential: Credential | None

    @property
    def scope(self) -> str:
        return f"repository:{self.path}:pull"


async def _get(http: RegistryHTTP, endpoint: Endpoint, url: str, *, accept: str, cap: int,
               method: str = "GET", follow_redirects: bool = False,
               passthrough: frozenset[int] = frozenset({404})) -> Any:
    return await http.request(
        method, url, host=endpoint.host, base_url=endpoint.base_url, scope=endpoint.scope,
        credential=endpoint.credential, accept=accept, cap=cap, follow_redirects=follow_redirects,
        passthrough=passthrough,
    )


def _not_found(endpoint: Endpoint) -> errors.RepositoryNotFound:
    return errors.RepositoryNotFound(
        f"registry {endpoint.host}: repository {endpoint.path} not found (or no access to it)"
    )


async def list_tags(http: RegistryHTTP, endpoint: Endpoint, *, max_tags: int) -> list[str]:
    """Every tag of the repository, across all pages, deduplicated, in no particular order."""
    tags: dict[str, None] = {}
    page_sizes = list(_PAGE_SIZES)
    url: str | None = _tags_url(endpoint, page_sizes[0])
    seen_urls: set[str] = set()
    while url is not None:
        if url in seen_urls or len(seen_urls) >= _MAX_PAGES:
            raise errors.RegistryProtocolError(f"registry {endpoint.host}: tag pages loop at {url}")
        seen_urls.add(url)
        refusable = frozenset({400, 404, 405}) if len(page_sizes) > 1 else frozenset({404})
        response = await _get(http, endpoint, url, accept="application/json", cap=_PAGE_CAP,
                              passthrough=refusable)
        if response.status == 404:
            raise _not_found(endpoint)
        if _page_size_refused(response) and len(seen_urls) == 1 and len(page_sizes) > 1:
            page_sizes.pop(0)  # the registry refused our page size: ask again with a smaller one
            url = _tags_url(endpoint, page_sizes[0])
            seen_urls.clear()
            continue
        if response.status >= 300:
            codes = "; ".join(f"{code}: {message}" if message else code
                              for code, message in registry_error_codes(response.body))
            raise errors.RegistryProtocolError(printable(
                f"registry {endpoint.host}: tag list of {endpoint.path} answered {response.status}"
                + (f": {codes[:300]}" if codes else "")
            ))
        for tag in _page_tags(response.body, response.content_type, endpoint):
            tags[tag] = None
        if len(tags) > max_tags:
            raise errors.RegistryProtocolError(
                f"registry {endpoint.host}: {endpoint.path} has more than {max_tags} tags; "
                "raise maxTags in RegistrySettings"
            )
        url = next_link(response.headers.get_list("link"), response.url)
        if url is not None and not same_origin(url, endpoint.base_url):
            raise errors.RegistryProtocolError(
                f"registry {endpoint.host}: refusing a next-page link to another origin ({url})"
            )
    return list(tags)


def _page_size_refused(response: _transport.Response) -> bool:
    """Only the documented refusals of ``n``: distribution's 400 ``PAGINATION_NUMBER_INVALID`` and
    ECR's 405 ``UNSUPPORTED`` ("maxResults ... less than or equal to 1000"). Any other 400
    (``NAME_INVALID``, …) is an answer about the repository, not about the page size."""
    errors_ = registry_error_codes(response.body)
    if response.status == 400:
        return any(code == "PAGINATION_NUMBER_INVALID" for code, _ in errors_)
    if response.status == 405:
        return any(code == "UNSUPPORTED" or "maxResults" in message or "1000" in message
                   for code, message in errors_)
    return False


def _tags_url(endpoint: Endpoint, page_size: str | None) -> str:
    url = f"{endpoint.base_url}/v2/{endpoint.path}/tags/list"
    return f"{url}?n={page_size}" if page_size else url


def _page_tags(body: bytes, content_type: str, endpoint: Endpoint) -> list[str]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        kind = "an HTML page" if b"<" in body[:100] else "invalid JSON"
        raise errors.RegistryProtocolError(
            f"registry {endpoint.host}: tag list of {endpoint.path} is {kind}, not JSON"
            f" (content-type {content_type or 'none'})"
        ) from None
    if not isinstance(data, dict):
        raise errors.RegistryProtocolError(f"registry {endpoint.host}: tag list is not a JSON object")
    tags = data.get("tags")
    if tags is None:  # distribution answers null once the last tagged manifest is deleted
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise errors.RegistryProtocolError(f"registry {endpoint.host}: 'tags' is not a list of strings")
    return tags


async def head_digest(http: RegistryHTTP, endpoint: Endpoint, tag: Tag) -> Digest:
    """The digest the tag points at (index digest for multi-arch images)."""
    url = f"{endpoint.base_url}/v2/{endpoint.path}/manifests/{tag}"
    response = await _get(http, endpoint, url, accept=MANIFEST_ACCEPT, cap=_MANIFEST_CAP, method="HEAD",
                          passthrough=frozenset({404, 405}), follow_redirects=True)
    digest = str(response.headers.get("docker-content-digest", ""))
    if response.status == 404:
        raise errors.RegistryError(f"registry {endpoint.host}: {endpoint.path}:{tag} has no manifest")
    if response.status == 405 or (response.status == 200 and not digest):
        # no digest header (old registries, some proxies): hash the manifest bytes ourselves
        response = await _get(http, endpoint, url, accept=MANIFEST_ACCEPT, cap=_MANIFEST_CAP,
                              follow_redirects=True)
        if response.status != 200:
            raise errors.RegistryError(
                f"registry {endpoint.host}: manifest {endpoint.path}:{tag} answered {response.status}"
            )
        digest, _, _ = _checked_manifest(response, endpoint, tag)
    if not _DIGEST_RE.fullmatch(digest):
        raise errors.RegistryProtocolError(
            f"registry {endpoint.host}: invalid digest {digest[:80]!r} for {endpoint.path}:{tag}"
        )
    return Digest(digest)


async def _manifest(http: RegistryHTTP, endpoint: Endpoint, reference: str) -> tuple[dict[str, Any], str]:
    if not _TAG_OR_DIGEST.fullmatch(reference):  # never sent: 2.8 answers 500 and we would retry
        raise errors.RegistryProtocolError(
            f"registry {endpoint.host}: {endpoint.path}: "
            f"invalid manifest reference {printable(reference[:80])!r}"
        )
    url = f"{endpoint.base_url}/v2/{endpoint.path}/manifests/{reference}"
    response = await _get(http, endpoint, url, accept=MANIFEST_ACCEPT, cap=_MANIFEST_CAP,
                          follow_redirects=True)
    if response.status != 200:
        raise errors.RegistryError(
            f"registry {endpoint.host}: manifest {endpoint.path}:{reference} answered {response.status}"
        )
    _, data, media_type = _checked_manifest(response, endpoint, reference)
    return data, media_type


_TAG_OR_DIGEST = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|" + _DIGEST_RE.pattern)


def _checked_manifest(response: _transport.Response, endpoint: Endpoint,
                      reference: str) -> tuple[Digest, dict[str, Any], str]:
    """Digest, document and media type of a manifest body, after checking that the body is what
    the registry says it is: its sha256 matches the reference (by digest) and the
    ``Docker-Content-Digest`` header, and ``Content-Type`` agrees with ``mediaType``."""
    where = f"registry {endpoint.host}: {endpoint.path}:{reference}"
    computed = Digest("sha256:" + hashlib.sha256(response.body).hexdigest())
    header = str(response.headers.get("docker-content-digest", "")).strip()
    for claimed in (reference, header):
        if claimed.startswith("sha256:") and claimed != computed:
            raise errors.RegistryProtocolError(
                f"{where}: manifest digest mismatch (the body hashes to {computed}, "
                f"the registry says {printable(claimed[:80])})"
            )
    try:
        data = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        raise errors.RegistryProtocolError(f"{where}: manifest is not JSON") from None
    if not isinstance(data, dict):
        raise errors.RegistryProtocolError(f"{where}: manifest is not a JSON object")
    declared = data.get("mediaType")
    served = response.content_type
    known = _INDEX_TYPES | _MANIFEST_TYPES
    if isinstance(declared, str) and declared in known and served in known and declared != served:
        raise errors.RegistryProtocolError(
            f"{where}: Content-Type {served} contradicts the manifest's mediaType {declared}"
        )
    return computed, data, str(declared or served)


def _pick_platform(index: dict[str, Any], where: str) -> str | None:
    entries = [m for m in index.get("manifests", []) if isinstance(m, dict)]
    images = [
        m for m in entries
        if (m.get("annotations") or {}).get("vnd.docker.reference.type") != "attestation-manifest"
    ]
    valid = [m for m in images if isinstance(m.get("digest"), str) and _DIGEST_RE.fullmatch(m["digest"])]
    if images and not valid:
        raise errors.RegistryProtocolError(
            f"{where}: index entries have malformed digests "
            f"({printable(str(images[0].get('digest'))[:80])!r})"
        )
    images = valid
    for m in images:
        platform = m.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return str(m.get("digest"))
    return str(images[0].get("digest")) if images else None


@dataclasses.dataclass(frozen=True, slots=True)
class ImageFacts:
    """What an image's manifest and config blob tell (linux/amd64 of an index)."""

    created: datetime.datetime | None = None
    """None when missing, epoch 0 (reproducible builds) or Go's zero time: unknown, not oldest."""
    source: str | None = None
    """The ``org.opencontainers.image.source`` annotation or label, when present."""
    artifact: bool = False
    """Not a container image: the manifest declares an ``artifactType``, or its config is not an
    image config (Helm charts, WASM modules, signatures and SBOMs pushed as OCI artifacts)."""


_IMAGE_CONFIG_TYPES = frozenset({
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
})


def _is_artifact(manifest: dict[str, Any]) -> bool:
    if manifest.get("artifactType"):
        return True
    config = manifest.get("config")
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    return isinstance(config_type, str) and config_type not in _IMAGE_CONFIG_TYPES


_SOURCE = "org.opencontainers.image.source"


async def image_facts(http: RegistryHTTP, endpoint: Endpoint, tag: Tag) -> ImageFacts:
    """Creation time and source URL of the image behind ``tag`` (manifest GETs plus a blob GET)."""
    manifest, media_type = await _manifest(http, endpoint, tag)
    source = _annotation(manifest)
    if manifest.get("artifactType"):  # an index of artifacts (or an image manifest declaring one)
        return ImageFacts(source=source, artifact=True)
    for _ in range(2):  # nested indexes, depth-limited
        if media_type not in _INDEX_TYPES and "manifests" not in manifest:
            break
        child = _pick_platform(manifest, f"registry {endpoint.host}: {endpoint.path}:{tag}")
        if child is None:
            return ImageFacts(source=source)
        manifest, media_type = await _manifest(http, endpoint, child)
        source = source or _annotation(manifest)
    if _is_artifact(manifest):
        return ImageFacts(source=source, artifact=True)
    config = manifest.get("config")
    digest = config.get("digest") if isinstance(config, dict) else None
    if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
        return ImageFacts(source=source)
    url = f"{endpoint.base_url}/v2/{endpoint.path}/blobs/{digest}"
    response = await _get(http, endpoint, url, accept="*/*", cap=_MANIFEST_CAP, follow_redirects=True)
    if response.status != 200 or "sha256:" + hashlib.sha256(response.body).hexdigest() != digest:
        return ImageFacts(source=source)
    try:
        blob = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return ImageFacts(source=source)
    labels = (blob.get("config") or {}).get("Labels") if isinstance(blob, dict) else None
    if not source and isinstance(labels, dict) and isinstance(labels.get(_SOURCE), str):
        source = labels[_SOURCE]
    raw_created = blob.get("created") if isinstance(blob, dict) else None
    if raw_created is None:
        return ImageFacts(source=source)
    try:
        when = datetime.datetime.fromisoformat(str(raw_created).replace("Z", "+00:00"))
    except ValueError:
        logger.warning("%s:%s: image created %s is not a date; creation time unknown",
                       endpoint.path, tag, printable(repr(raw_created)[:80]))
        return ImageFacts(source=source)
    return ImageFacts(created=when if when.year > 1970 else None, source=source)


def _annotation(manifest: dict[str, Any]) -> str | None:
    annotations = manifest.get("annotations")
    value = annotations.get(_SOURCE) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) else None
