"""Image repositories, references and scanned tag lists.

``ImageRepo`` is parsed by config from ``ImageRepository.spec.image``; ``TagList`` is produced by
:mod:`imagebot.scan` and consumed by :mod:`imagebot.policy`; ``ImageRef`` is what the setters write.
Parsing follows the Docker reference rules (registry-protocol.md §1), without I/O.
"""

from __future__ import annotations

import dataclasses
import datetime
import operator
import re
from collections.abc import Mapping

from imagebot.model.ids import Digest, Tag

__all__ = ["DOCKER_HUB", "ImageRef", "ImageRepo", "TagList", "parse_image_repo"]

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_HOST_RE = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]+)?|\[[0-9A-Fa-f:]+\](?::[0-9]+)?")


@dataclasses.dataclass(frozen=True, slots=True)
class ImageRepo:
    """An image repository: canonical registry host plus repository path.

    >>> parse_image_repo("nginx")
    ImageRepo(registry='docker.io', path='library/nginx', name='nginx')
    """

    registry: str
    """Canonical registry host (``docker.io`` for Docker Hub), with port when given."""
    path: str
    """Repository path inside the registry (``library/nginx``, ``org/app``)."""
    name: str
    """The image name exactly as the user wrote it; setters write this back verbatim."""

    @property
    def canonical(self) -> str:
        return f"{self.registry}/{self.path}"

    def __str__(self) -> str:
        return self.name


@dataclasses.dataclass(frozen=True, slots=True)
class ImageRef:
    """What a policy resolved to and a setter writes: ``name:tag[@digest]``."""

    name: str
    tag: Tag
    digest: Digest | None = None

    def __str__(self) -> str:
        ref = f"{self.name}:{self.tag}"
        return f"{ref}@{self.digest}" if self.digest else ref


@dataclasses.dataclass(frozen=True, slots=True)
class TagList:
    """Every tag of one repository after exclusions, as one scan saw it."""

    repo: ImageRepo
    tags: tuple[Tag, ...]
    """Deduplicated, sorted in descending byte order (as Flux stores them)."""
    scanned_at: datetime.datetime
    digests: Mapping[Tag, Digest] = dataclasses.field(default_factory=dict)
    """Digests known for some tags (the ones the scan resolved)."""
    first_seen: Mapping[Tag, datetime.datetime] = dataclasses.field(default_factory=dict)
    """When imagebot first saw each tag (from the state store); drives cooldowns."""
    first_digests: Mapping[Tag, Digest] = dataclasses.field(default_factory=dict)
    """The digest each tag had when first seen; differs from ``digests`` for a re-pushed tag."""
    created: Mapping[Tag, datetime.datetime] = dataclasses.field(default_factory=dict)
    """Image creation times from config blobs, where the scan read them (optional)."""

    def __post_init__(self) -> None:
        # the scan sorts; a TagList made otherwise (tests, `imagebot policy test`) is brought into
        # that order here, once, rather than checked by every policy evaluated against it
        tags = self.tags
        if not all(map(operator.gt, tags, tags[1:])):  # pairwise in C: 100,000 tags in a few ms
            object.__setattr__(self, "tags", tuple(sorted(set(tags), reverse=True)))


def parse_image_repo(image: str) -> ImageRepo:
    """Parse ``ImageRepository.spec.image``: no scheme, no tag, no digest.

    Raises ``ValueError`` with a one-line reason; config turns it into a ``ConfigError``.
    """
    if not image or image != image.strip():
        raise ValueError(f"invalid image {image!r}: empty or surrounded by whitespace")
    if "://" in image:
        raise ValueError(f"invalid image {image!r}: remove the URL scheme")
    if "@" in image:
        raise ValueError(f"invalid image {image!r}: a repository takes no digest")
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not _HOST_RE.fullmatch(first):
            raise ValueError(f"invalid image {image!r}: bad registry host {first!r}")
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, image
    if ":" in path:
        raise ValueError(f"invalid image {image!r}: a repository takes no tag")
    if registry.lower() in _HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    if not _PATH_RE.fullmatch(path):
        raise ValueError(
            f"invalid image {image!r}: repository path {path!r} must be lowercase "
            "letters, digits and separators"
        )
    return ImageRepo(registry=registry, path=path, name=image)
