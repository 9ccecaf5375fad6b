"""Shards sharing a state store list each ImageRepository once (issue 11), step by step.

Aspects: a repository another shard is listing is waited for and its listing reused (no scan of
its own); a claim released after a failed listing is taken over; a repository listed under
another spec (exclusions) is listed again. The real two-process case against a registry is in
``tests/integration/test_shard.py``.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

from imagebot.model import flux, images
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.registries import RegistrySettings
from imagebot.model.scans import ScanResult, SharedListing
from imagebot.pipeline import _scans
from imagebot.state import StateStore

REPO = flux.ImageRepository(
    key=ObjectKey("ns", "app"), image=images.parse_image_repo("registry.test/org/app"),
    interval=datetime.timedelta(minutes=5), timeout=datetime.timedelta(minutes=1),
)
SETTINGS = RegistrySettings()
OTHER = "elsewhere:1"  # another machine: its lease is trusted


def _claim_as_other(store: StateStore, repo: flux.ImageRepository = REPO) -> None:
    claim = store.claim_listing(repo.key, _scans._fingerprint(repo, SETTINGS), owner=OTHER,
                                now=datetime.datetime.now(datetime.UTC), fresh_for=repo.interval,
                                lease_for=datetime.timedelta(minutes=1), alive=lambda _: True)
    assert claim is None


class Scanner:
    def __init__(self) -> None:
        self.asked: list[list[ObjectKey]] = []

    def __call__(self, repositories: Sequence[flux.ImageRepository]) -> list[ScanResult]:
        self.asked.append([r.key for r in repositories])
        now = datetime.datetime.now(datetime.UTC)
        return [ScanResult(r.key, r.image, tags=images.TagList(r.image, (Tag("2"), Tag("1")), now))
                for r in repositories]


def test_a_listing_in_progress_elsewhere_is_waited_for_and_reused(tmp_path: Path) -> None:
    with StateStore(tmp_path / "s.db") as mine, StateStore(tmp_path / "s.db") as other:
        _claim_as_other(other)
        slept: list[float] = []

        def sleep(seconds: float) -> None:  # the other shard finishes while this one waits
            slept.append(seconds)
            listing = SharedListing((Tag("9"), Tag("10")), datetime.datetime.now(datetime.UTC), "http://r")
            other.store_listing(REPO.key, _scans._fingerprint(REPO, SETTINGS), listing, owner=OTHER)

        scanner = Scanner()
        [result] = _scans._scan_shared([REPO], SETTINGS, state=mine, scan_some=scanner, sleep=sleep)

    assert scanner.asked == [] and slept == [_scans._POLL]
    assert result.tags is not None and result.tags.tags == ("9", "10") and result.endpoint == "http://r"
    assert set(result.tags.first_seen) == {"9", "10"}  # recorded in the shared store


def test_a_released_claim_is_taken_over(tmp_path: Path) -> None:
    with StateStore(tmp_path / "s.db") as mine, StateStore(tmp_path / "s.db") as other:
        _claim_as_other(other)
        scanner = Scanner()
        [result] = _scans._scan_shared([REPO], SETTINGS, state=mine, scan_some=scanner,
                                       sleep=lambda _: other.release_listing(REPO.key, owner=OTHER))
        assert scanner.asked == [[REPO.key]]
        assert result.tags is not None and result.tags.tags == ("2", "1")
        # and the listing is now shared with the next shard
        shared = other.claim_listing(REPO.key, _scans._fingerprint(REPO, SETTINGS), owner=OTHER,
                                     now=datetime.datetime.now(datetime.UTC), fresh_for=REPO.interval,
                                     lease_for=datetime.timedelta(minutes=1), alive=lambda _: True)
        assert isinstance(shared, SharedListing) and shared.tags == ("2", "1")


def test_a_listing_under_another_spec_is_listed_again(tmp_path: Path) -> None:
    narrower = flux.ImageRepository(key=REPO.key, image=REPO.image, interval=REPO.interval,
                                    timeout=REPO.timeout, exclusion_list=("^1$",))
    with StateStore(tmp_path / "s.db") as store:
        first = Scanner()
        _scans._scan_shared([REPO], SETTINGS, state=store, scan_some=first)
        second = Scanner()
        _scans._scan_shared([narrower], SETTINGS, state=store, scan_some=second)
        third = Scanner()
        _scans._scan_shared([narrower], SETTINGS, state=store, scan_some=third)
    assert first.asked == second.asked == [[REPO.key]] and third.asked == []
