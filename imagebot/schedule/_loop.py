"""When the sync loop syncs a unit: Argo CD's automated-sync rules, as pure functions of a clock.

Given what a check found (:class:`~imagebot.model.cluster.UnitStatus`) and what the loop
remembers of the unit (:class:`Track`), :func:`decide` says: sync now, check again after a wait,
or leave it (and why). The rules are the application controller's ``autoSync``:

* only an ``automated`` unit is synced, and only when it is OutOfSync; a manual one is reported;
* OutOfSync only because objects require pruning, with ``automated.prune`` off: left alone;
* a revision not attempted yet is synced at once — unless it renders exactly what the last
  attempted one did (a commit elsewhere in the repository): that counts as attempted, as Argo CD's
  "revisions have no changes" (and a check that finds the unit Synced adopts its revision);
* a revision whose last sync failed (after its retries) is not synced again until a new revision
  (a Flux Kustomization is: Flux applies at every interval);
* drift at a revision already synced is re-applied only with ``selfHeal``, after Argo CD's
  self-heal backoff: the n-th heal in a row at one revision waits 2 s × 3^(n-2) (capped at
  5 min) after the previous sync ended; the first is immediate. A new revision resets the count.

:func:`retry_wait` is ``syncPolicy.retry``'s backoff (``duration × factor^n``, capped at
``maxDuration``). Called by :mod:`imagebot.schedule._apps`.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Literal

from imagebot.backoff import Backoff
from imagebot.model import argo
from imagebot.model.cluster import UnitStatus
from imagebot.sync import SyncUnit

__all__ = ["DEFAULT_INTERVAL", "DEFAULT_RETRY", "SELF_HEAL", "Decision", "Track", "adopt", "decide",
           "retry_limit", "retry_wait"]

DEFAULT_INTERVAL = datetime.timedelta(minutes=3)
"""How often a unit without its own interval is checked (Argo CD: 120 s + up to 60 s jitter)."""

SELF_HEAL = Backoff(attempts=1_000_000, base=2.0, factor=3.0, cap=300.0, jitter=False)
"""Argo CD's self-heal backoff (``--self-heal-backoff-timeout-seconds`` 2, factor 3, cap 300)."""

DEFAULT_RETRY = argo.RetryPolicy(limit=5)
"""What an automated sync retries with when the unit names no ``retry`` (as Argo CD: 5 tries, 5 s ×2
up to 3 min)."""


@dataclasses.dataclass(slots=True)
class Track:
    """What the loop remembers of one unit between checks (in memory: a restart forgets it, as a
    restarted controller re-reads status; the first check after a restart syncs once if OutOfSync)."""

    attempted: str | None = None
    """The revision of the last sync the loop started (or found Synced)."""
    rendered: str | None = None
    """A fingerprint of what ``attempted`` rendered (a new revision rendering the same is no news)."""
    succeeded: bool = False
    finished_at: datetime.datetime | None = None
    self_heals: int = 0
    """Self-heal syncs in a row at ``attempted``."""
    retries: int = 0
    """Retries of the failed sync at ``attempted`` so far."""
    health: str | None = None
    """The health seen at the last check (an event is sent when it turns Degraded)."""
    synced_at: datetime.datetime | None = None
    """When the loop last applied something (health is followed closely for a while after)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    action: Literal["sync", "wait", "none"]
    why: str
    trigger: str = ""
    """For ``sync``: ``new revision``, ``self-heal``, ``interval`` (Flux) or ``retry``."""
    wait: float = 0.0
    """For ``wait``: seconds until the next check may sync."""


def _seconds(delta: datetime.timedelta) -> float:
    return delta.total_seconds()


def decide(unit: SyncUnit, status: UnitStatus, track: Track, now: datetime.datetime, *,
           rendered: str | None = None) -> Decision:
    """Whether to sync ``unit`` now, given a fresh ``status``, what ``track`` remembers, and the
    fingerprint of the render (:func:`adopt` records it)."""
    if status.sync == "Synced":
        return Decision("none", "Synced")
    if status.sync != "OutOfSync":
        return Decision("none", f"sync status {status.sync}")
    if not unit.automated:
        return Decision("none", "OutOfSync; automated sync is off")
    if status.pruning_only and not unit.prune:
        return Decision("none", "OutOfSync: objects require pruning and automated.prune is off")
    if status.revision != track.attempted and (rendered is None or rendered != track.rendered):
        return Decision("sync", f"new revision {status.revision[:12]}", "new revision")
    if not track.succeeded:
        if unit.kind == "Kustomization":
            return Decision("sync", "the last sync failed; Flux applies again at every interval", "interval")
        return Decision("none", f"the last sync of {status.revision[:12]} failed; waiting for a new revision")
    if not unit.self_heal:
        return Decision("none", "OutOfSync: drift from Git (selfHeal is off)")
    wait = SELF_HEAL.delay(track.self_heals - 1) if track.self_heals > 0 else 0.0
    elapsed = _seconds(now - track.finished_at) if track.finished_at is not None else wait
    if elapsed < wait:
        why = f"self-heal backoff: {track.self_heals} heal(s) in a row"
        return Decision("wait", why, wait=wait - elapsed)
    return Decision("sync", "drift from Git; self-heal", "self-heal")


def adopt(track: Track, revision: str, rendered: str | None, *, succeeded: bool | None = None) -> None:
    """Remember ``revision`` as attempted (a sync started, or the unit was found Synced at it);
    a new revision starts the self-heal and retry counts afresh."""
    if revision != track.attempted and rendered != track.rendered:
        track.self_heals = track.retries = 0
    track.attempted, track.rendered = revision, rendered
    if succeeded is not None:
        track.succeeded = succeeded


def retry_limit(unit: SyncUnit) -> int:
    """Retries a failed sync gets (-1: no limit); automated units without ``retry`` get Argo's 5."""
    if unit.retry is not None:
        return unit.retry.limit
    return DEFAULT_RETRY.limit if unit.automated and unit.kind == "Application" else 0


def retry_wait(unit: SyncUnit, retries: int) -> float:
    """The wait before retry number ``retries + 1``: ``duration × factor^retries``, capped."""
    policy = unit.retry or DEFAULT_RETRY
    backoff = Backoff(attempts=1_000_000, base=_seconds(policy.duration), factor=policy.factor,
                      cap=_seconds(policy.max_duration), jitter=False)
    return backoff.delay(retries)
