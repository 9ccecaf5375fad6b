"""The sync loop follows health closely after a sync while the rollout is Progressing — also when
that first check reads OutOfSync (a Deployment mid-rollout on a real apiserver can; seen by
benchmarks/loop.py, whose next check otherwise came only at the 3-minute interval)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from imagebot import config
from imagebot.model.cluster import UnitStatus
from imagebot.schedule._apps import HEALTH_POLL, AppLoop
from imagebot.schedule._loop import Track

NOW = datetime.datetime(2026, 12, 7, 3, 0, tzinfo=datetime.UTC)


def loop(tmp_path: Path) -> AppLoop:
    def no_config() -> config.Config:
        raise AssertionError("the configuration is not read to decide on a follow-up")

    return AppLoop(cfg=no_config, secrets=config.SecretStore(tmp_path), state_path=tmp_path / "state.db",
                   kubeconfig=tmp_path / "kubeconfig", clock=lambda: NOW)


@pytest.mark.parametrize("sync", ["Synced", "OutOfSync"])
def test_a_fresh_rollout_is_followed_whatever_the_first_check_reads(tmp_path: Path, sync: str) -> None:
    track = Track(synced_at=NOW - datetime.timedelta(seconds=1))
    status = UnitStatus(unit="argocd/web-dev", revision="a" * 40, sync=sync, health="Progressing")  # type: ignore[arg-type]

    follow = loop(tmp_path)._follow_health(track, status, NOW)

    assert follow is not None and (follow.seconds, follow.reason) == (HEALTH_POLL, "health")


def test_a_healthy_unit_or_an_old_sync_is_left_to_the_interval(tmp_path: Path) -> None:
    status = UnitStatus(unit="argocd/web-dev", revision="a" * 40, sync="Synced", health="Healthy")
    assert loop(tmp_path)._follow_health(Track(synced_at=NOW), status, NOW) is None
    progressing = UnitStatus(unit="argocd/web-dev", revision="a" * 40, sync="Synced", health="Progressing")
    old = Track(synced_at=NOW - datetime.timedelta(hours=1))
    assert loop(tmp_path)._follow_health(old, progressing, NOW) is None
