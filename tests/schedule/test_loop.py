"""The sync loop's rules as pure functions: when a unit is synced (Argo CD's autoSync), the
self-heal backoff (2 s × 3^n, capped at 5 min), ``syncPolicy.retry``'s capped exponential backoff,
and which changed paths touch a unit."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from imagebot.model import argo
from imagebot.model.cluster import UnitStatus
from imagebot.schedule._apps import touches
from imagebot.schedule._loop import Track, adopt, decide, retry_limit, retry_wait
from tests.sync.units import unit

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
AUTO = unit(automated=True, self_heal=True)


def out_of_sync(revision: str = "a" * 40, **fields: object) -> UnitStatus:
    return dataclasses.replace(UnitStatus(unit="argocd/web", revision=revision, sync="OutOfSync",
                                          health="Healthy"), **fields)  # type: ignore[arg-type]


def test_a_synced_unit_or_a_manual_one_is_never_synced() -> None:
    synced = dataclasses.replace(out_of_sync(), sync="Synced")
    assert decide(AUTO, synced, Track(), T0).action == "none"
    manual = decide(unit(), out_of_sync(), Track(), T0)
    assert (manual.action, manual.why) == ("none", "OutOfSync; automated sync is off")


def test_a_new_revision_is_synced_at_once_and_a_failed_one_is_not_synced_again() -> None:
    decision = decide(AUTO, out_of_sync(), Track(attempted="b" * 40, succeeded=True), T0)
    assert (decision.action, decision.trigger) == ("sync", "new revision")
    failed = decide(AUTO, out_of_sync(), Track(attempted="a" * 40, succeeded=False, finished_at=T0), T0)
    assert failed.action == "none" and "failed; waiting for a new revision" in failed.why


def test_a_new_revision_that_renders_what_the_last_attempt_did_is_no_news() -> None:
    # a commit elsewhere in the repository: Argo CD's "revisions have no changes"
    track = Track(attempted="b" * 40, rendered="same", succeeded=True, finished_at=T0)
    manual = decide(unit(automated=True), out_of_sync(), track, T0, rendered="same")
    assert (manual.action, manual.why) == ("none", "OutOfSync: drift from Git (selfHeal is off)")
    assert decide(unit(automated=True), out_of_sync(), track, T0, rendered="other").trigger == "new revision"
    adopt(track, "a" * 40, "same", succeeded=True)
    assert (track.attempted, track.self_heals) == ("a" * 40, 0)


def test_a_flux_kustomization_applies_again_at_its_interval_after_a_failure() -> None:
    flux = unit(kind="Kustomization", automated=True, self_heal=True)
    decision = decide(flux, out_of_sync(), Track(attempted="a" * 40, succeeded=False, finished_at=T0), T0)
    assert (decision.action, decision.trigger) == ("sync", "interval")


def test_drift_without_self_heal_is_reported_not_synced() -> None:
    decision = decide(unit(automated=True), out_of_sync(), Track(attempted="a" * 40, succeeded=True), T0)
    assert (decision.action, decision.why) == ("none", "OutOfSync: drift from Git (selfHeal is off)")


def test_pruning_alone_does_not_sync_without_automated_prune() -> None:
    status = out_of_sync(pruning_only=True)
    assert decide(AUTO, status, Track(), T0).action == "none"
    assert decide(dataclasses.replace(AUTO, prune=True), status, Track(), T0).action == "sync"


@pytest.mark.parametrize(("heals", "wait"), [
    pytest.param(0, 0.0, id="first-heal-at-once"),
    pytest.param(1, 2.0, id="second-after-2s"),
    pytest.param(2, 6.0, id="third-after-6s"),
    pytest.param(3, 18.0, id="fourth-after-18s"),
    pytest.param(5, 162.0, id="sixth-after-162s"),
    pytest.param(6, 300.0, id="capped-at-5min"),
    pytest.param(40, 300.0, id="still-capped"),
])
def test_self_heal_backs_off_like_argo_cd(heals: int, wait: float) -> None:
    track = Track(attempted="a" * 40, succeeded=True, finished_at=T0, self_heals=heals)
    if wait:
        early = decide(AUTO, out_of_sync(), track, T0 + datetime.timedelta(seconds=wait - 0.5))
        assert early.action == "wait" and early.wait == pytest.approx(0.5)
    due = decide(AUTO, out_of_sync(), track, T0 + datetime.timedelta(seconds=wait))
    assert (due.action, due.trigger) == ("sync", "self-heal")


def test_retry_waits_duration_times_factor_to_the_n_capped_at_max_duration() -> None:
    default = unit(automated=True)
    assert [retry_wait(default, n) for n in range(8)] == [5, 10, 20, 40, 80, 160, 180, 180]
    assert retry_limit(default) == 5  # Argo CD gives automated syncs 5 tries without a retry
    assert retry_limit(unit()) == 0
    custom = unit(retry=argo.RetryPolicy(limit=3, duration=datetime.timedelta(seconds=2), factor=3.0,
                                         max_duration=datetime.timedelta(seconds=30)))
    assert [retry_wait(custom, n) for n in range(5)] == [2, 6, 18, 30, 30]
    assert retry_limit(custom) == 3


def test_a_commit_touches_the_units_whose_path_it_changed() -> None:
    assert touches("apps/web/overlays/dev", ["apps/web/overlays/dev/kustomization.yaml"])
    assert touches("./apps/web/overlays/dev/", ["apps/web/overlays/dev/patch.yaml"])
    assert not touches("apps/web/overlays/dev", ["apps/web/overlays/prod/kustomization.yaml"])
    assert not touches("apps/web/overlays/dev", ["apps/web/overlays/dev-2/kustomization.yaml"])
    assert touches(".", ["anything.yaml"])
