"""The outcome of scanning one ImageRepository: a tag list, or an error to report.

Produced by :mod:`imagebot.scan`; consumed by the scan command and the pipeline. A failed
repository never hides the others: each result stands alone.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from typing import Protocol

from imagebot.model.ids import Digest, ObjectKey, Tag
from imagebot.model.images import ImageRepo, TagList

__all__ = ["Lease", "ScanResult", "SharedListing", "TagFacts", "TagMemory", "TagRecord"]


@dataclasses.dataclass(frozen=True, slots=True)
class RateBudget:
    """A registry's last ``ratelimit-*`` figures (Docker Hub: pulls per window)."""

    limit: int | None = None
    remaining: int | None = None
    window: int | None = None
    """The window in seconds (``w=21600``: 6 hours)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ScanResult:
    key: ObjectKey
    image: ImageRepo
    tags: TagList | None = None
    error: str | None = None
    """One line naming the registry and the cause; never a secret."""
    retryable: bool = False
    """True when the cause is temporary (unreachable, 5xx, rate limited)."""
    endpoint: str = ""
    """The registry endpoint that answered (a mirror or the canonical host)."""
    rate_limit: RateBudget | None = None
    """The registry's pull budget as its last ``ratelimit-*`` headers told (None: no headers)."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclasses.dataclass(frozen=True, slots=True)
class SharedListing:
    """A repository's tags as one shard listed them, kept in a state store other shards share."""

    tags: tuple[Tag, ...]
    """In stored order (descending bytes), after the repository's exclusions."""
    scanned_at: datetime.datetime
    endpoint: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Lease:
    """Another shard is listing the repository now; its claim lasts until ``until``."""

    owner: str
    until: datetime.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class TagFacts:
    """What some tags of one repository point at right now (``scan.refresh``), for the pipeline."""

    digests: Mapping[Tag, Digest] = dataclasses.field(default_factory=dict)
    sources: Mapping[Tag, str] = dataclasses.field(default_factory=dict)
    """``org.opencontainers.image.source`` per tag, where the image declares one."""


@dataclasses.dataclass(frozen=True, slots=True)
class TagRecord:
    """What the state store remembers of one tag."""

    first_seen: datetime.datetime
    first_digest: Digest | None
    last_digest: Digest | None


class TagMemory(Protocol):
    """What the scan stage needs of the state store (:class:`imagebot.state.StateStore`), which
    the pipeline passes in: the scan never imports the store itself."""

    def known_digests(self, repositories: Iterable[str]) -> dict[str, frozenset[Tag]]: ...

    def record_many(
        self,
        entries: Mapping[str, tuple[Iterable[Tag], Mapping[Tag, Digest]]],
        *,
        now: datetime.datetime,
    ) -> dict[str, dict[Tag, TagRecord]]: ...

