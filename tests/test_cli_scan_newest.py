"""``imagebot scan``'s ``newest:`` column: semver order first, then first seen, and it says so
(issue 14: a natural sort listed ``main-9a8b7c6-…, latest, 6.8.0-rc.1`` first)."""

from __future__ import annotations

import datetime

from imagebot.commands import scan
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.images import TagList, parse_image_repo
from imagebot.model.scans import ScanResult

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
REPO = parse_image_repo("ghcr.io/stefanprodan/podinfo")


def _result(tags: dict[str, int]) -> ScanResult:
    """``tags``: tag → hours ago first seen."""
    listed = TagList(REPO, tuple(Tag(t) for t in sorted(tags, reverse=True)), NOW,
                     first_seen={Tag(t): NOW - datetime.timedelta(hours=h) for t, h in tags.items()})
    return ScanResult(ObjectKey("flux-system", "podinfo"), REPO, listed, endpoint="https://ghcr.io")


def test_semver_first_then_first_seen() -> None:
    line = scan._summary(_result({
        "6.5.0": 900, "6.7.1": 100, "6.8.0-rc.1": 50, "latest": 1, "main-9a8b7c6-1732200000": 2,
        "main-1a2b3c4-1732000000": 300, "6.10.0": 10,
    }))
    assert line == (
        "flux-system/podinfo  ghcr.io/stefanprodan/podinfo  7 tags  newest (semver, then first seen): "
        "6.10.0, 6.8.0-rc.1, 6.7.1, 6.5.0, latest, …"
    )


def test_without_semver_tags_first_seen_orders() -> None:
    line = scan._summary(_result({"main-b": 5, "main-a": 1, "main-c": 9}))
    assert line.endswith("3 tags  newest (semver, then first seen): main-a, main-b, main-c")
