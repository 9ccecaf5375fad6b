"""Shared helpers of the scan tests: an ImageRepository builder, a recording sleep, ``run``."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Sequence

import httpx

from imagebot import scan
from imagebot.model import flux, ids, images
from imagebot.model.registries import Credential, RegistrySettings
from imagebot.model.scans import ScanResult
from imagebot.state import StateStore
from tests.fakes.registry import FakeRegistry

__all__ = ["ALICE", "NOW", "Sleeps", "repo", "run", "tags_of"]

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
ALICE = Credential(username="alice", password="s3cret", origin="test")


def repo(image: str = "registry.test/org/app", name: str = "app", **kwargs: object) -> flux.ImageRepository:
    return flux.ImageRepository(
        key=ids.ObjectKey("ns", name), image=images.parse_image_repo(image),
        interval=datetime.timedelta(minutes=5), timeout=datetime.timedelta(minutes=5), **kwargs,  # type: ignore[arg-type]
    )


class Sleeps:
    """A sleep that returns at once (after letting other tasks run, as a real one would) and
    records the delay; ``clock`` advances by what was slept."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.now = 1000.0

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def clock(self) -> float:
        return self.now


def run(
    registry: FakeRegistry | httpx.MockTransport,
    repositories: Sequence[flux.ImageRepository],
    *,
    credential: Credential | None = None,
    settings: RegistrySettings | None = None,
    digests: scan.DigestMode = "none",
    sleeps: Sleeps | None = None,
    state: StateStore | None = None,
    created: bool = False,
    seams: bool = True,
) -> list[ScanResult]:
    transport = registry.transport() if isinstance(registry, FakeRegistry) else registry
    sleeps = sleeps or Sleeps()
    clock = {"clock": sleeps.clock} if seams else {}  # False: run against code without the seam
    return scan.scan_all(
        repositories, credentials=lambda host, path, ref: credential, settings=settings,
        options=scan.ScanOptions(digests=digests, created=created), transport=transport, sleep=sleeps,
        now=NOW, state=state, **clock,  # type: ignore[arg-type]
    )


def tags_of(result: ScanResult) -> list[str]:
    assert result.error is None, result.error
    assert result.tags is not None
    return list(result.tags.tags)
