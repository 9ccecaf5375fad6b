"""The sync loop's work for one unit: check out, render, compare, maybe sync, record.

:meth:`AppLoop.reconcile` is the body of a unit's job (the service runs it under the job book, so
it never overlaps itself). It renders the unit at its Git revision, compares with the cluster
(:func:`imagebot.sync.status`), asks :func:`~imagebot.schedule._loop.decide` whether to sync, and
syncs with the engine (:func:`imagebot.sync.sync_unit`, server-side apply taking fields over —
Git wins in an automated sync, as Argo CD's ``--force-conflicts``). The outcome goes to the state
store (last state, bounded history) and to the listeners (metrics, events). It returns when the
unit wants to be looked at again before its interval: a retry, a self-heal backoff ending, or
health to follow after a sync. :meth:`AppLoop.settle_application_set` is the ApplicationSet
controller's part: generate, apply the ``applicationsSync`` policy against the record
(:func:`imagebot.sync.settle`, as ``imagebot sync`` does) and delete what the policy drops
(:func:`imagebot.sync.delete_dropped`). Called by :class:`imagebot.schedule._service.Service`.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from imagebot import config, sync
from imagebot.errors import ConfigError, ImagebotError, TemporaryError
from imagebot.model import argo, gitauth
from imagebot.model.cluster import AppState, SyncRecord, SyncResult, UnitStatus
from imagebot.schedule._loop import Decision, Track, adopt, decide, retry_limit, retry_wait
from imagebot.state import StateStore

__all__ = ["AppListener", "AppLoop", "Next", "touches"]

logger = logging.getLogger("imagebot.schedule")

Clock = Callable[[], datetime.datetime]

HEALTH_POLL = 2.0
"""Seconds between health checks while a freshly synced unit is Progressing."""
HEALTH_WINDOW = datetime.timedelta(minutes=5)
"""How long after a sync health is followed that closely (then: the interval)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Next:
    """Check the unit again in ``seconds`` (``reason``: ``retry``, ``self-heal``, ``health``)."""

    seconds: float
    reason: str


class AppListener(Protocol):
    """Told about every check of a unit (metrics, events); must not raise."""

    def app_checked(self, state: AppState, record: SyncRecord | None, previous_health: str | None) -> None:
        """``record`` is set when the check synced; ``previous_health`` is the last check's."""


def _fingerprint(render: sync.Render) -> str:
    bodies = [m.body for m in render.manifests]
    return hashlib.sha256(json.dumps(bodies, sort_keys=True, default=str).encode()).hexdigest()


def _changed(result: SyncResult) -> int:
    return sum(1 for o in result.outcomes if o.action in ("created", "configured", "pruned"))


def _normal_path(path: str) -> str:
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def touches(unit_path: str, changed: Iterable[str]) -> bool:
    """Whether a commit that changed ``changed`` (repository paths) touches a unit at ``unit_path``."""
    base = _normal_path(unit_path)
    for raw in changed:
        path = _normal_path(raw)
        if not base or path == base or path.startswith(base + "/"):
            return True
    return False


class AppLoop:
    """One per service: the sync loop's memory (:class:`Track` per unit) and its clients."""

    def __init__(
        self,
        *,
        cfg: Callable[[], config.Config],
        secrets: config.SecretStore,
        state_path: Path,
        kubeconfig: Path,
        context: str | None = None,
        workdir: Path | None = None,
        clock: Clock,
        listeners: Callable[[], Sequence[AppListener]] = lambda: (),
        sync_options: sync.SyncOptions | None = None,
    ) -> None:
        self._cfg = cfg
        self._secrets = secrets
        self._state_path = state_path
        self._kubeconfig = kubeconfig
        self._context = context
        self._workdir = (workdir or Path(".imagebot/git")) / "sync"
        self._clock = clock
        self._listeners = listeners
        self._options = dataclasses.replace(sync_options or sync.SyncOptions(), force=True, dry_run=False,
                                            diff=False)
        self._tracks: dict[str, Track] = {}
        self._dropped: set[str] = set()
        """Units deleted by their ApplicationSet: a check still running records nothing."""
        self._clients: dict[str | None, sync.KubernetesCluster] = {}
        self._guard = threading.Lock()
        self._clone_locks: dict[str, threading.Lock] = {}
        self._generating = threading.Lock()

    def track(self, unit: str) -> Track:
        """The loop's memory of a unit (a copy)."""
        with self._guard:
            return dataclasses.replace(self._tracks.get(unit) or Track())

    def forget(self) -> None:
        """After a configuration reload: failed revisions may be synced again (a human acted)."""
        with self._guard:
            for track in self._tracks.values():
                if not track.succeeded:
                    track.attempted = track.rendered = None
                track.retries = 0

    def drop(self, unit: str) -> None:
        """A unit its ApplicationSet no longer has: forget it (memory, state store, history)."""
        with self._guard:
            self._tracks.pop(unit, None)
            self._dropped.add(unit)
        with StateStore(self._state_path) as store:
            store.forget_app(unit)

    def revive(self, unit: str) -> None:
        """A unit generated (again): its checks are recorded."""
        with self._guard:
            self._dropped.discard(unit)

    def close(self) -> None:
        with self._guard:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    # -- the job ----------------------------------------------------------------------------------

    def reconcile(self, unit: sync.SyncUnit, *, reason: str = "interval") -> Next | None:
        """Check ``unit`` and sync it when the rules say so; when to look again (None: interval)."""
        with self._guard:
            track = self._tracks.setdefault(unit.name, Track())
        cluster = self._cluster(unit)
        try:
            render, revision = self._render(unit, cluster)
        except ConfigError:
            raise
        except ImagebotError as exc:
            self._record(unit, track, UnitStatus(unit=unit.name, revision="?", sync="Unknown",
                                                 health="Unknown", why=(str(exc),)), None, error=str(exc))
            raise
        status = sync.status(render, revision, cluster)
        now = self._clock()
        rendered = _fingerprint(render)
        if reason == "retry" and track.attempted == revision and not track.succeeded:
            decision = Decision("sync", "retrying the failed sync", "retry")
        else:
            decision = decide(unit, status, track, now, rendered=rendered)
        if status.sync == "Synced":
            adopt(track, revision, rendered, succeeded=True)
        if decision.action == "wait":
            self._record(unit, track, status, None)
            return Next(decision.wait, "self-heal")
        if decision.action == "none":
            if status.sync == "OutOfSync":
                logger.info("%s: %s", unit.name, decision.why)
            self._record(unit, track, status, None)
            return self._follow_health(track, status, now)
        return self._sync(render, revision, cluster, track=track, decision=decision, rendered=rendered)

    def _sync(self, render: sync.Render, revision: str, cluster: sync.KubernetesCluster, *,
              track: Track, decision: Decision, rendered: str) -> Next | None:
        unit = render.unit
        logger.info("%s: syncing %s (%s)", unit.name, revision[:12], decision.why)
        adopt(track, revision, rendered)
        if decision.trigger == "self-heal":
            track.self_heals += 1
        started = self._clock()
        # the loop retries on its own schedule, never by sleeping in a worker
        once = dataclasses.replace(render, unit=dataclasses.replace(unit, retry=None))
        try:
            result = sync.sync_unit(once, revision, cluster, self._options)
        except TemporaryError as exc:
            result = SyncResult(unit=unit.name, revision=revision, error=str(exc))
        finished = self._clock()
        track.succeeded, track.finished_at = not result.failed, finished
        if not result.failed:
            track.retries = 0
            track.synced_at = finished
        error = None if not result.failed else (result.error or "; ".join(
            f"{o.ref}: {o.message}" for o in result.outcomes if o.action == "failed"))
        record = SyncRecord(unit=unit.name, revision=revision,
                            result="Failed" if result.failed else "Succeeded", started_at=started,
                            finished_at=finished, changed=_changed(result),
                            trigger=decision.trigger, message=error or result.message)
        after = sync.status(render, revision, cluster)
        self._record(unit, track, after, record, error=error)
        if result.failed:
            limit = retry_limit(unit)
            if limit < 0 or track.retries < limit:
                wait = retry_wait(unit, track.retries)
                track.retries += 1
                logger.warning("%s: sync of %s failed (retry %d in %.0f s): %s", unit.name, revision[:12],
                               track.retries, wait, error)
                return Next(wait, "retry")
            logger.error("%s: sync of %s failed: %s", unit.name, revision[:12], error)
            return None
        logger.info("%s: synced %s: %d object(s) changed", unit.name, revision[:12], record.changed)
        return self._follow_health(track, after, finished)

    def _follow_health(self, track: Track, status: UnitStatus, now: datetime.datetime) -> Next | None:
        recent = track.synced_at is not None and now - track.synced_at < HEALTH_WINDOW
        # not only when Synced: on a real apiserver the check right after a sync can read a
        # Deployment mid-rollout as OutOfSync; without a follow-up the next look came only at the
        # interval (benchmarks/loop.py waited minutes for Healthy)
        if recent and status.health in ("Progressing", "Missing", "Unknown"):
            return Next(HEALTH_POLL, "health")
        return None

    def _record(self, unit: sync.SyncUnit, track: Track, status: UnitStatus, record: SyncRecord | None,
                *, error: str | None = None) -> None:
        state = AppState(
            unit=unit.name, revision=status.revision, sync=status.sync, health=status.health,
            checked_at=self._clock(), synced_revision=status.synced_revision, why=status.why,
            last_result=record.result if record is not None else None,
            last_synced_at=record.finished_at if record is not None else None,
            last_error=error if record is not None else None,
        )
        with self._guard:
            if unit.name in self._dropped:  # deleted while this check ran: it has no state any more
                return
        with StateStore(self._state_path) as store:
            if record is not None:
                store.record_sync(record, limit=unit.history_limit)
            store.record_app(state)
            stored = store.app(unit.name) or state
        previous, track.health = track.health, status.health
        for listener in self._listeners():
            listener.app_checked(stored, record, previous)

    # -- sources and clusters -------------------------------------------------------------------

    def _render(self, unit: sync.SyncUnit, cluster: sync.KubernetesCluster) -> tuple[sync.Render, str]:
        with self._guard:
            lock = self._clone_locks.setdefault(unit.repo_url, threading.Lock())
        with lock:  # a checkout is valid until the next one of the same clone
            sources = sync.Sources(workdir=self._workdir, auth_for=self._auth_for)
            root, revision = sources.checkout(unit)
            return sync.render(unit, root, namespaced=cluster.namespaced), revision

    def generate(self, app_sets: Iterable[argo.ApplicationSet]) -> sync.Generated:
        """The Applications of ``app_sets`` (git generators read their own clones: a reconcile
        may be checking out the units' clones at the same moment)."""
        sources = sync.Sources(workdir=self._workdir.parent / "appsets", auth_for=self._auth_for)
        with self._generating:  # ApplicationSet jobs share these clones: one reads them at a time
            return sync.generate(app_sets, sources, config.parse_generated_application)

    def settle_application_set(self, app_set: argo.ApplicationSet) -> sync.Settled:
        """Regenerate ``app_set`` (its git generators read at their revision now) and apply its
        ``applicationsSync`` policy against its record on the current context, recorded anew — what
        the one-shot ``imagebot sync`` does (:func:`imagebot.sync.settle`). A failed generation
        gives the recorded Applications, and the failure."""
        generated = self.generate([app_set])
        return sync.settle([app_set], generated, self._current(), config.parse_generated_application,
                           write=True)

    def delete_dropped(self, app_set: argo.ApplicationSet, settled: sync.Settled) -> dict[str, SyncResult]:
        """Delete the Applications the policy dropped, with their objects unless
        ``preserveResourcesOnDeletion`` (:func:`imagebot.sync.delete_dropped`, as ``imagebot sync``)."""
        return sync.delete_dropped(settled.deleted, {app_set.key: app_set}, self._cluster, self._options)

    def _auth_for(self, url: str) -> gitauth.GitAuth | None:
        for repository in self._cfg().git_repositories.values():
            if repository.url == url:
                return config.git_auth(self._secrets, repository)
        return None

    def _current(self) -> sync.KubernetesCluster:
        """``--context`` (or the kubeconfig's current context): where ApplicationSet records live."""
        with self._guard:
            client = self._clients.get(self._context)
            if client is None:
                client = self._clients[self._context] = sync.connect(self._kubeconfig, context=self._context)
            return client

    def _cluster(self, unit: sync.SyncUnit) -> sync.KubernetesCluster:
        with self._guard:
            context = self._context or sync.context_for(sync.read_kubeconfig(self._kubeconfig),
                                                        server=unit.server, name=unit.cluster_name,
                                                        unit=unit.name)
            client = self._clients.get(context)
            if client is None:
                client = self._clients[context] = sync.connect(self._kubeconfig, context=context)
            return client
