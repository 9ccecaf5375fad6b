"""``imagebot serve``'s engine: APScheduler jobs for every ImageRepository and automation.

Each ImageRepository is scanned at its ``interval`` (``pipeline.scan_repositories``) and each
ImageUpdateAutomation runs at its ``interval`` (``pipeline.run`` for that one automation). A scan
whose tags or digests changed — or one a webhook asked for — runs the automations whose policies
use the repository right away, as Flux's automation controller reacts to a changed ImagePolicy.
Jobs never overlap themselves, back off on failure (:class:`~imagebot.schedule._jobs.JobBook`),
and run on a small thread pool; automations sharing a git clone take turns. The configuration
directory is watched (and re-read on :meth:`Service.reload`, which SIGHUP calls); a new
configuration that does not load keeps the old one running. With a cluster, each ApplicationSet
has a job too: it generates again at ``appset_interval`` (and at once when a push touches the
repository its git generators read), applies the ``applicationsSync`` policy as ``imagebot sync``
does, and adds, updates and removes the sync jobs of its Applications. Called by the ``serve``
command.

:class:`Service` is the facade; its parts are siblings: :mod:`._configs` (the configuration and
this shard's share of it), :mod:`._timetable` (the scheduler's jobs), :mod:`._units` (the units the
loop follows), :mod:`._appsets` (the ApplicationSet jobs), :mod:`._routing` (which jobs a push
concerns) and :mod:`._runs` (what a scan or run amounts to).
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from imagebot import config, pipeline, scan, sync
from imagebot.errors import ConfigError, ImagebotError, PermanentError, TemporaryError
from imagebot.model import argo, flux, notification
from imagebot.model.ids import ObjectKey
from imagebot.schedule import _configs, _routing, _timetable
from imagebot.schedule._apps import AppLoop, Next
from imagebot.schedule._appsets import AppSetJobs
from imagebot.schedule._hooks import Push
from imagebot.schedule._jobids import (
    APPSET_JOB,
    INTERVAL_JOBS,
    UNIT_JOBS,
    appset_job,
    appset_key,
    automation_job,
    base,
    scan_job,
    unit_job,
)
from imagebot.schedule._jobs import Clock, JobBook, Outcome
from imagebot.schedule._listener import Listener
from imagebot.schedule._loop import DEFAULT_INTERVAL as DEFAULT_SYNC_INTERVAL
from imagebot.schedule._runs import Abandoned, failure, tags_fingerprint
from imagebot.schedule._settings import DEFAULT_APPSET_INTERVAL, DEFAULT_AUTOMATION_INTERVAL, ServeSettings
from imagebot.schedule._units import UnitTable
from imagebot.state import StateStore

__all__ = ["DEFAULT_APPSET_INTERVAL", "Abandoned", "Listener", "ServeSettings", "Service", "appset_job",
           "automation_job", "scan_job", "unit_job"]

logger = logging.getLogger("imagebot.schedule")


class Service:
    """``Service(settings).start()`` … ``service.stop()``; jobs run on APScheduler's thread pool."""

    def __init__(
        self,
        settings: ServeSettings,
        *,
        clock: Clock | None = None,
        listeners: Sequence[Listener] = (),
        book: JobBook | None = None,
    ) -> None:
        self.settings = settings
        self._listeners = list(listeners)
        self.book = book or (JobBook(clock=clock, on_finish=self._finished) if clock is not None
                             else JobBook(on_finish=self._finished))
        self._cfg: config.Config | None = None
        self._config_fingerprint = ""
        self.config_error: str | None = None
        self.state_error: str | None = None
        self._secrets = config.SecretStore(settings.secrets_dir)
        self._git_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._reloading = threading.Lock()
        self._seen: dict[ObjectKey, str | None] = {}
        self._clock: Clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self._units = UnitTable()
        self.apps: AppLoop | None = None
        self._appsets: AppSetJobs | None = None
        if settings.kubeconfig is not None:
            self.apps = AppLoop(cfg=lambda: self.cfg, secrets=self._secrets, state_path=settings.state_path,
                                kubeconfig=settings.kubeconfig, context=settings.context,
                                workdir=settings.workdir, clock=self._clock,
                                listeners=lambda: list(self._listeners), sync_options=settings.sync_options)
            self._appsets = AppSetJobs(
                apps=self.apps, units=self._units, book=self.book, listeners=self._listeners,
                schedule_units=self._schedule_units,
                check_now=lambda jobs: self.trigger_units(jobs, reason="application set"))
        self._scheduler = _timetable.scheduler(settings.workers)
        self._started = False

    # -- the configuration --------------------------------------------------------------------

    @property
    def cfg(self) -> config.Config:
        if self._cfg is None:
            raise ConfigError("no configuration loaded")
        return self._cfg

    def _load(self) -> config.Config:
        settings = self.settings
        return _configs.load(settings.config_path, mirrors=settings.mirrors, shard=settings.shard,
                             syncs=self.apps is not None)

    def reload(self) -> bool:
        """Re-read the configuration; on an error keep the running one (and say why)."""
        with self._reloading:  # the watch job and SIGHUP may ask at the same moment
            return self._reload()

    def _reload(self) -> bool:
        fingerprint = _configs.fingerprint(self.settings.config_path)
        try:
            loaded = self._load()
        except ConfigError as exc:
            self._config_fingerprint = fingerprint
            self.config_error = str(exc)
            logger.error("configuration not reloaded, still running the previous one: %s", exc)
            for listener in self._listeners:
                listener.config_reloaded(False)
            return False
        self._config_fingerprint = fingerprint
        self.config_error = None
        self._cfg = loaded
        self.book.forgive()  # a human changed something: failed jobs may work now
        if self.apps is not None:
            self.apps.forget()
        for listener in self._listeners:
            listener.config_reloaded(True)
        if self._started:
            self._schedule(loaded)
        logger.info("configuration loaded: %d ImageRepositories, %d ImageUpdateAutomations",
                    len(loaded.image_repositories), len(self.automations(loaded)))
        return True

    def check_config(self) -> None:
        """Reload when a file under the configuration path changed (the watch job)."""
        with self._reloading:
            if _configs.fingerprint(self.settings.config_path) != self._config_fingerprint:
                self._reload()

    def automations(self, cfg: config.Config) -> list[flux.ImageUpdateAutomation]:
        return _configs.automations(cfg, self.settings.shard)

    def sync_units(self, cfg: config.Config) -> list[sync.SyncUnit]:
        """The Applications written in the configuration and the Kustomizations the loop syncs
        (this shard's, when sharded); ApplicationSets' Applications come from their own jobs."""
        return _configs.sync_units(cfg, self.settings.shard)

    def application_sets(self, cfg: config.Config) -> list[argo.ApplicationSet]:
        """The ApplicationSets this service generates (this shard's, by the ApplicationSet's key:
        its Applications are synced by the shard that generates them)."""
        return _configs.application_sets(cfg, self.settings.shard) if self.apps is not None else []

    def repositories(self, cfg: config.Config) -> list[flux.ImageRepository]:
        """The repositories to scan: not suspended, and (when sharded) used by this shard."""
        return _configs.repositories(cfg, self.settings.shard)

    # -- starting and stopping ----------------------------------------------------------------

    def start(self, *, paused: bool = False) -> None:
        """Load the configuration (a ``ConfigError`` here stops the start), open the state store,
        and schedule every job, each due right away (``paused``: scheduled, none run — tests)."""
        self._cfg = self._load()
        self._config_fingerprint = _configs.fingerprint(self.settings.config_path)
        with StateStore(self.settings.state_path):
            pass  # opens (and creates) it: a store that cannot open is a start-up error
        self._scheduler.start(paused=paused)
        self._started = True
        self._schedule(self._cfg)
        if self.settings.watch > 0:
            self._scheduler.add_job(self.check_config, "interval", seconds=self.settings.watch,
                                    id="watch-config")

    @property
    def ready(self) -> bool:
        """Configuration loaded and state store usable (``/readyz``)."""
        if self._cfg is None or not self._started or self.book.stopping:
            return False
        try:
            with StateStore(self.settings.state_path):
                self.state_error = None
        except ConfigError as exc:
            self.state_error = str(exc)
            return False
        return True

    @property
    def alive(self) -> bool:
        return self._started and self._scheduler.running

    def stop(self, grace: float | None = None) -> bool:
        """Take no more jobs, let running ones finish (an automation that has not pushed yet
        abandons its run); ``False`` if some job was still running after ``grace`` seconds."""
        self.book.stop()
        if self._started and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        finished = self.book.wait_idle(self.settings.grace if grace is None else grace)
        if self.apps is not None and finished:
            self.apps.close()
        if not finished:
            logger.warning("stopping with jobs still running: %s", ", ".join(self.book.running()))
        return finished

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # -- the schedule ---------------------------------------------------------------------------

    def _schedule(self, cfg: config.Config) -> None:
        wanted: dict[str, tuple[Callable[..., object], ObjectKey, datetime.timedelta]] = {}
        for repo in self.repositories(cfg):
            wanted[scan_job(repo.key)] = (self.scan, repo.key, repo.interval)
        for automation in self.automations(cfg):
            interval = automation.interval or DEFAULT_AUTOMATION_INTERVAL
            wanted[automation_job(automation.key)] = (self.run_automation, automation.key, interval)
        app_sets = self.application_sets(cfg)
        plain = self.sync_units(cfg) if self.apps is not None else []
        self._units.set_plain({unit_job(u): u for u in plain}, {a.key for a in app_sets})
        for app_set in app_sets:  # generated now; then at their interval
            self.regenerate(appset_job(app_set.key), forced=True)
        appset_jobs = {appset_job(a.key) for a in app_sets}
        _timetable.unschedule(self._scheduler, lambda job_id: (
            (job_id.startswith(INTERVAL_JOBS) and job_id not in wanted)
            or (base(job_id).startswith(APPSET_JOB) and base(job_id) not in appset_jobs)))
        now = datetime.datetime.now(datetime.UTC)
        for job_id, (func, key, interval) in wanted.items():
            _timetable.every(self._scheduler, func, job_id, key, interval, due=now)
        for app_set in app_sets:  # each has just run: next at its interval
            job_id = appset_job(app_set.key)
            _timetable.every(self._scheduler, self.regenerate, job_id, job_id, self.settings.appset_interval,
                             due=None)
        self._schedule_units()

    def _schedule_units(self) -> None:
        """The scheduler's unit jobs follow the unit table: a new unit is due at once, one gone
        loses its jobs (pending triggers included), an interval change reschedules."""
        if not self._started:
            return
        with self._units.lock:
            units = dict(self._units.units)
            _timetable.unschedule(self._scheduler, lambda job_id: (
                base(job_id).startswith(UNIT_JOBS) and base(job_id) not in units))
            now = datetime.datetime.now(datetime.UTC)
            for job_id, unit in units.items():
                _timetable.every(self._scheduler, self.reconcile, job_id, job_id,
                                 unit.interval or DEFAULT_SYNC_INTERVAL, due=now)

    def interval_of(self, job_id: str) -> datetime.timedelta | None:
        """The interval a job is scheduled at (``None``: not scheduled)."""
        return _timetable.interval_of(self._scheduler, job_id)

    def _scheduler_job_ids(self) -> list[str]:
        return [j.id for j in self._scheduler.get_jobs()]

    def scheduled(self) -> list[str]:
        return _timetable.scheduled(self._scheduler)

    # -- scans and automations ------------------------------------------------------------------

    def trigger_scan(self, keys: Iterable[ObjectKey]) -> list[ObjectKey]:
        """Scan these repositories soon (after the debounce); triggers already pending coalesce.

        Returns the repositories newly queued.
        """
        queued: list[ObjectKey] = []
        when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=self.settings.debounce)
        for key in keys:
            if self.book.stopping:
                break
            if not _timetable.queue(self._scheduler, self.scan, key, job_id=f"hook:{key}", when=when,
                                    kwargs={"forced": True}):
                logger.debug("%s: a scan is already queued; coalesced", key)
                continue
            queued.append(key)
        return queued

    def _trigger_automations(self, repository: ObjectKey, *, forced: bool) -> None:
        cfg = self.cfg
        for automation in self.automations(cfg):
            if any(p.repository == repository for p in pipeline.policies_for(cfg, automation)):
                # False: one is queued already; it will see this scan too
                _timetable.queue(self._scheduler, self.run_automation, automation.key,
                                 job_id=f"after-scan:{automation.key}", kwargs={"forced": forced})

    def scan(self, key: ObjectKey, *, forced: bool = False) -> Outcome:
        """The scan job of one ImageRepository."""
        changed: list[bool] = []

        def work() -> None:
            cfg = self.cfg
            repo = cfg.image_repositories.get(key)
            if repo is None or repo.suspend:
                return
            with StateStore(self.settings.state_path) as store:
                started = datetime.datetime.now(datetime.UTC)
                result = pipeline.scan_repositories(
                    cfg, [repo], secrets=self._secrets, state=store,
                    options=scan.ScanOptions(digests="none", observe=self._observe),
                )[key]
            seconds = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
            for listener in self._listeners:
                listener.scanned(result, seconds)
            if result.error is not None:
                raise (TemporaryError(result.error, delay=0) if result.retryable
                       else PermanentError(result.error))
            fingerprint = tags_fingerprint(result)
            changed.append(self._seen.get(key) != fingerprint)
            self._seen[key] = fingerprint

        outcome = self.book.run(scan_job(key), work, force=forced)
        if outcome == "ok" and (forced or any(changed)):
            self._trigger_automations(key, forced=forced)
        return outcome

    def _observe(self, host: str, status: int | None, remaining: int | None) -> None:
        for listener in self._listeners:
            listener.registry_request(host, status, remaining)

    def _git_lock(self, automation: flux.ImageUpdateAutomation) -> threading.Lock:
        repository = self.cfg.git_repositories.get(automation.source)
        name = repository.url if repository is not None else str(automation.source)
        with self._locks_guard:
            return self._git_locks.setdefault(name, threading.Lock())

    def _before_push(self) -> None:
        if self.book.stopping:
            raise Abandoned("imagebot is stopping: run abandoned before pushing")

    def run_automation(self, key: ObjectKey, *, forced: bool = False) -> Outcome:
        """The job of one ImageUpdateAutomation: ``pipeline.run`` for it alone."""

        def retried(seconds: float) -> None:  # the pipeline sleeps only between push attempts
            for listener in self._listeners:
                listener.push_retried(key)
            time.sleep(seconds)

        def work() -> None:
            cfg = self.cfg
            automation = cfg.automations.get(key)
            if automation is None or automation.suspend:
                return
            started = datetime.datetime.now(datetime.UTC)
            report: pipeline.RunReport | None = None
            error: BaseException | None = None
            try:
                with self._git_lock(automation), StateStore(self.settings.state_path) as store:
                    report = pipeline.run(
                        cfg, secrets=self._secrets, state=store, automations=[automation],
                        options=pipeline.RunOptions(workdir=self.settings.workdir, sleep=retried,
                                                    before_push=self._before_push, observe=self._observe),
                    )
                error = failure(report)
            except ImagebotError as exc:
                error = exc
            if report is not None:
                self._pushed(automation, report)
            seconds = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
            for listener in self._listeners:
                listener.automation_ran(key, report, error, seconds)
            if error is not None:
                raise error

        return self.book.run(automation_job(key), work, force=forced)

    def _pushed(self, automation: flux.ImageUpdateAutomation, report: pipeline.RunReport) -> None:
        """Hand what an automation pushed to the sync loop: the units whose path it touched."""
        if self.apps is None:
            return
        repository = self.cfg.git_repositories.get(automation.source)
        if repository is None:
            return
        for run in report.automations:
            if run.revision is None or not run.changes.files:
                continue
            branch = run.revision.branch
            paths = [f.path for f in run.changes.files]
            units = self._units.units
            jobs = [j for j in self.units_for_push(repository.url, branch, paths)
                    if not run.pull_requests or (j in units and units[j].ref.branch == branch)]
            app_sets = self.appsets_for_push(repository.url, branch, explicit=bool(run.pull_requests))
            if app_sets:
                logger.info("%s pushed %s: generating %s", automation.key, run.revision, ", ".join(app_sets))
                self.trigger_appsets(app_sets, reason="push")
            if jobs:
                logger.info("%s pushed %s: syncing %s", automation.key, run.revision, ", ".join(jobs))
                self.trigger_units(jobs, reason="push")

    # -- the sync loop ----------------------------------------------------------------------------

    def unit(self, job_id: str) -> sync.SyncUnit | None:
        return self._units.units.get(job_id)

    def reconcile(self, job_id: str, *, reason: str = "interval", forced: bool = False) -> Outcome:
        """The job of one Application or Kustomization: check it, sync it when the rules say so."""
        follow: list[Next] = []

        def work() -> None:
            unit = self._units.units.get(job_id)
            if unit is None or self.apps is None:
                return
            again = self.apps.reconcile(unit, reason=reason)
            if again is not None:
                follow.append(again)

        outcome = self.book.run(job_id, work, force=forced)
        for again in follow:
            self._check_later(job_id, again.seconds, again.reason)
        return outcome

    def _check_later(self, job_id: str, seconds: float, reason: str) -> None:
        """One more check of a unit in ``seconds`` (an earlier one already queued wins)."""
        if self.book.stopping or not self._started:
            return
        when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=max(seconds, 0.0))
        _timetable.check_later(self._scheduler, self.reconcile, job_id, when=when, reason=reason)

    def regenerate(self, job_id: str, *, reason: str = "interval", forced: bool = False) -> Outcome:
        """The job of one ApplicationSet (:meth:`AppSetJobs.generate
        <imagebot.schedule._appsets.AppSetJobs.generate>`)."""
        key = appset_key(job_id)

        def work() -> None:
            cfg = self.cfg
            app_set = cfg.application_sets.get(key)
            mine = {a.key for a in self.application_sets(cfg)}
            if app_set is None or self._appsets is None or key not in mine:
                return  # gone from the configuration, or another shard's
            logger.debug("%s: generating (%s)", job_id, reason)
            self._appsets.generate(app_set)

        return self.book.run(job_id, work, force=forced)

    def trigger_units(self, job_ids: Iterable[str], *, reason: str) -> list[str]:
        """Check these units at once (a pushed commit, a Git webhook); pending triggers coalesce."""
        return self._now(self.reconcile, job_ids, reason=reason)

    def trigger_appsets(self, job_ids: Iterable[str], *, reason: str) -> list[str]:
        """Generate these ApplicationSets at once (a push to the repository their git generators
        read); pending triggers coalesce."""
        return self._now(self.regenerate, job_ids, reason=reason)

    def _now(self, func: Callable[..., Outcome], job_ids: Iterable[str], *, reason: str) -> list[str]:
        queued: list[str] = []
        for job_id in job_ids:
            if self.book.stopping or not self._started:
                break
            # False: one is queued and has not started: it will see this commit too
            if _timetable.queue(self._scheduler, func, job_id, job_id=f"{job_id}#now",
                                kwargs={"reason": reason, "forced": True}):
                queued.append(job_id)
        return queued

    def units_for_push(self, url: str, branch: str | None, paths: Iterable[str] | None) -> list[str]:
        """The unit jobs a push to ``url`` touches (:func:`~imagebot.schedule._routing.units_for_push`)."""
        return _routing.units_for_push(self._units.units, url, branch, paths)

    def units_for_receiver(self, receiver: notification.Receiver, push: Push) -> list[str]:
        """The unit jobs a Git push webhook names
        (:func:`~imagebot.schedule._routing.units_for_receiver`)."""
        return _routing.units_for_receiver(self._units.units, self.cfg, receiver, push)

    def appsets_for_push(self, url: str, branch: str | None, *, explicit: bool = False) -> list[str]:
        """The ApplicationSet jobs a push of ``branch`` to ``url`` concerns
        (:func:`~imagebot.schedule._routing.appsets_for_push`)."""
        if self.apps is None or self._cfg is None:
            return []
        return _routing.appsets_for_push(self.application_sets(self.cfg), url, branch, explicit=explicit)

    def appsets_for_receiver(self, receiver: notification.Receiver, push: Push) -> list[str]:
        """The ApplicationSet jobs a Git push webhook concerns
        (:func:`~imagebot.schedule._routing.appsets_for_receiver`)."""
        if self.apps is None:
            return []
        cfg = self.cfg
        return _routing.appsets_for_receiver(self.application_sets(cfg), self._units.generated(), cfg,
                                             receiver, push)

    def _finished(self, job: str, outcome: Outcome, seconds: float, error: BaseException | None) -> None:
        for listener in self._listeners:
            listener.job_finished(job, outcome, seconds)
