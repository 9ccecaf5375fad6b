"""Builders for policy tests: tag lists and ImagePolicy objects in one line each."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

from imagebot.model import flux, images
from imagebot.model.ids import Digest, ObjectKey, Tag

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
REPO = images.parse_image_repo("ghcr.io/example/app")
POLICY_KEY = ObjectKey("apps", "podinfo")


def tag_list(
        tags: Iterable[str],
        *,
        digests: Mapping[str, str] | None = None,
        first_seen: Mapping[str, datetime.datetime] | None = None,
        first_digests: Mapping[str, str] | None = None,
        presorted: bool = True,
) -> images.TagList:
    """A TagList as the scan produces it (deduplicated, descending byte order) unless told not."""
    values = sorted(set(tags), reverse=True) if presorted else list(tags)
    return images.TagList(
        repo=REPO,
        tags=tuple(Tag(t) for t in values),
        scanned_at=NOW,
        digests={Tag(k): Digest(v) for k, v in (digests or {}).items()},
        first_seen={Tag(k): v for k, v in (first_seen or {}).items()},
        first_digests={Tag(k): Digest(v) for k, v in (first_digests or {}).items()},
    )


def image_policy(
        choice: flux.PolicyChoice | None = None,
        *,
        semver: str | None = None,
        pattern: str | None = None,
        extract: str = "",
        reflect: flux.DigestReflection = "Never",
        min_age: datetime.timedelta | None = None,
        source: str = "",
) -> flux.ImagePolicy:
    if choice is None:
        choice = flux.SemverChoice(semver if semver is not None else "*")
    return flux.ImagePolicy(
        key=POLICY_KEY,
        repository=ObjectKey("apps", "podinfo"),
        choice=choice,
        filter=flux.TagFilter(pattern, extract) if pattern is not None else None,
        digest_reflection=reflect,
        min_age=min_age,
        source=source,
    )


def digest(n: int) -> str:
    return f"sha256:{n:064x}"
