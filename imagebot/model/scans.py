"""The outcome of scanning one ImageRepository: a tag list, or an error to report.

Produced by :mod:`imagebot.scan`; consumed by the scan command and the pipeline. A failed
repository never hides the others: each result stands alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from imagebot.model.ids import Digest, ObjectKey, Tag
from imagebot.model.images import ImageRepo, TagList

__all__ = ["ScanResult", "TagFacts"]


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

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclasses.dataclass(frozen=True, slots=True)
class TagFacts:
    """What some tags of one repository point at right now (``scan.refresh``), for the pipeline."""

    digests: Mapping[Tag, Digest] = dataclasses.field(default_factory=dict)
    sources: Mapping[Tag, str] = dataclasses.field(default_factory=dict)
    """``org.opencontainers.image.source`` per tag, where the image declares one."""
