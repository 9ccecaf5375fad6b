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
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from imagebot import config, pipeline, policy, scan, sync, validation
from imagebot.errors import ConfigError, ImagebotError, PermanentError, TemporaryError
from imagebot.model import argo, flux, notification
from imagebot.model.cluster import AppState, SyncRecord, SyncResult
from imagebot.model.ids import ObjectKey
from imagebot.model.scans import ScanResult
from imagebot.schedule._apps import AppLoop, Next, touches
from imagebot.schedule._hooks import Push
from imagebot.schedule._jobs import Clock, JobBook, Outcome
from imagebot.schedule._loop import DEFAULT_INTERVAL as DEFAULT_SYNC_INTERVAL
from imagebot.state import StateStore

__all__ = ["DEFAULT_APPSET_INTERVAL", "Abandoned", "Listener", "ServeSettings", "Service", "appset_job",
           "automation_job", "scan_job", "unit_job"]

logger = logging.getLogger("imagebot.schedule")

DEFAULT_AUTOMATION_INTERVAL = datetime.timedelta(minutes=5)
DEFAULT_APPSET_INTERVAL = datetime.timedelta(minutes=3)
"""How often each ApplicationSet generates again (Argo CD's ApplicationSet controller requeues
every 3 minutes)."""
DROP_WAIT = 60.0
"""Seconds a regeneration waits for a running check of an Application it deletes."""


class Abandoned(TemporaryError):
    """The service is stopping: the run was abandoned before it pushed anything."""


def scan_job(key: ObjectKey) -> str:
    return f"scan:{key}"


def automation_job(key: ObjectKey) -> str:
    return f"automation:{key}"


def unit_job(unit: sync.SyncUnit) -> str:
    """``app:argocd/web-dev`` or ``kustomization:flux-system/apps``: the unit's sync job."""
    return f"{'app' if unit.kind == 'Application' else 'kustomization'}:{unit.key}"


def appset_job(key: ObjectKey) -> str:
    """``appset:argocd/shop``: the ApplicationSet's generation job."""
    return f"appset:{key}"


_UNIT_JOBS = ("app:", "kustomization:")
_APPSET_JOB = "appset:"


def _git_generators(generators: Iterable[argo.Generator]) -> Iterable[argo.GitGenerator]:
    for generator in generators:
        if isinstance(generator, argo.GitGenerator):
            yield generator
        elif isinstance(generator, argo.MatrixGenerator | argo.MergeGenerator):
            yield from _git_generators(generator.generators)


def _reads(app_set: argo.ApplicationSet, url: str, branch: str | None, *, explicit: bool = False) -> bool:
    """Whether a push of ``branch`` to ``url`` may change what ``app_set`` generates: one of its git
    generators reads that repository (a templated ``repoURL`` may be any) at that branch
    (``explicit``: only a generator naming the branch, not one following the default branch)."""
    for generator in _git_generators(app_set.generators):
        if "{{" not in generator.repo_url and not _same_repository(generator.repo_url, url):
            continue
        followed = _followed_branch(sync.git_ref(generator.revision))
        if explicit and followed is None:
            continue
        if branch is None or followed is None or followed == branch or "{{" in generator.revision:
            return True
    return False


def _pushed_to(unit: sync.SyncUnit, branch: str | None, changed: list[str] | None) -> bool:
    followed = _followed_branch(unit.ref)
    if branch is not None and followed is not None and followed != branch:
        return False  # another branch (or a tag, a pinned commit: "" follows no branch)
    return changed is None or touches(unit.path, changed)


def _followed_branch(ref: flux.GitRef) -> str | None:
    """The branch a unit follows; None for the default branch (any push may move it); "" for a
    tag, a semver range or a commit, which no branch push moves."""
    if ref.commit or ref.tag or ref.semver:
        return ""
    if ref.name:
        return ref.name.removeprefix("refs/heads/") if ref.name.startswith("refs/heads/") else ""
    return ref.branch


def _same_repository(a: str, b: str) -> bool:
    def plain(url: str) -> str:
        return url.strip().rstrip("/").removesuffix(".git").lower()
    return plain(a) == plain(b)


@dataclasses.dataclass(frozen=True, slots=True)
class ServeSettings:
    """What ``imagebot serve`` was started with (its flags)."""

    config_path: Path
    secrets_dir: Path = config.DEFAULT_SECRETS_DIR
    state_path: Path = Path("state.db")
    workdir: Path | None = None
    """Where clones are kept (default: ``.imagebot/git/<repository>``)."""
    workers: int = 4
    """Jobs running at once (scans and automations)."""
    grace: float = 30.0
    """Seconds a stop waits for running jobs before abandoning them."""
    debounce: float = 0.25
    """Webhooks for one repository within this many seconds trigger one scan."""
    watch: float = 5.0
    """How often (seconds) the configuration directory is checked for changes; 0: never."""
    mirrors: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    shard: tuple[int, int] | None = None
    """``(index, count)``: run only this shard's automations (``pipeline.shard_of``)."""
    kubeconfig: Path | None = None
    """The cluster the sync loop applies to; None: no sync loop (Applications are not synced)."""
    context: str | None = None
    """A kubeconfig context for every unit (default: from each destination)."""
    sync_options: sync.SyncOptions = dataclasses.field(default_factory=sync.SyncOptions)
    """How the loop's syncs wait for waves (``wave_timeout``, ``poll``; tests shorten them)."""
    appset_interval: datetime.timedelta = DEFAULT_APPSET_INTERVAL
    """How often each ApplicationSet's generators run again (default 3 min, Argo CD's requeue)."""


class Listener(Protocol):
    """Told what the jobs did (metrics, outgoing events); must not raise."""

    def scanned(self, result: ScanResult, seconds: float) -> None: ...

    def automation_ran(self, automation: ObjectKey, report: pipeline.RunReport | None,
                       error: BaseException | None, seconds: float) -> None: ...

    def job_finished(self, job: str, outcome: Outcome, seconds: float) -> None: ...

    def push_retried(self, automation: ObjectKey) -> None: ...

    def config_reloaded(self, ok: bool) -> None: ...

    def registry_request(self, host: str, status: int | None, remaining: int | None) -> None: ...

    def app_checked(self, state: AppState, record: SyncRecord | None,
                    previous_health: str | None) -> None: ...

    def appset_failed(self, app_set: ObjectKey, message: str) -> None:
        """The ApplicationSet generated nothing (``message``: the error at file:line); its
        recorded Applications go on."""

    def app_removed(self, unit: str, result: SyncResult | None) -> None:
        """The unit left the loop: its ApplicationSet deleted it (``result``: the deletion) or no
        longer has it."""


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*")
                                                     if p.suffix in (".yaml", ".yml"))
        for file in files:
            stat = file.stat()
            digest.update(f"{file}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
    except OSError as exc:
        digest.update(str(exc).encode())
    return digest.hexdigest()


def _tags_fingerprint(result: ScanResult) -> str | None:
    if result.tags is None:
        return None
    digest = hashlib.sha256()
    for tag in sorted(result.tags.tags):
        digest.update(f"{tag}\0{result.tags.digests.get(tag, '')}\n".encode())
    return digest.hexdigest()


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
        self._units: dict[str, sync.SyncUnit] = {}
        """Every unit the loop syncs, by job id: ``_plain_units`` and each ApplicationSet's."""
        self._plain_units: dict[str, sync.SyncUnit] = {}
        self._appset_units: dict[ObjectKey, dict[str, sync.SyncUnit]] = {}
        self._units_guard = threading.RLock()
        self.apps: AppLoop | None = None
        if settings.kubeconfig is not None:
            self.apps = AppLoop(cfg=lambda: self.cfg, secrets=self._secrets, state_path=settings.state_path,
                                kubeconfig=settings.kubeconfig, context=settings.context,
                                workdir=settings.workdir, clock=self._clock,
                                listeners=lambda: list(self._listeners), sync_options=settings.sync_options)
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=max(1, settings.workers))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=datetime.UTC,
        )
        self._started = False

    # -- the configuration --------------------------------------------------------------------

    @property
    def cfg(self) -> config.Config:
        if self._cfg is None:
            raise ConfigError("no configuration loaded")
        return self._cfg

    def _load(self) -> config.Config:
        loaded = validation.load(self.settings.config_path)  # the one loader every command uses
        if self.settings.mirrors:
            registries = dataclasses.replace(
                loaded.registries, mirrors={**loaded.registries.mirrors, **self.settings.mirrors})
            loaded = dataclasses.replace(loaded, registries=registries)
        for automation in loaded.automations.values():
            for spec in pipeline.policies_for(loaded, automation):
                policy.validate(spec)  # a bad range or regex is a config error too
        if self.apps is not None:
            self.sync_units(loaded)  # a dependsOn cycle or a missing source is a config error too
        return loaded

    def reload(self) -> bool:
        """Re-read the configuration; on an error keep the running one (and say why)."""
        with self._reloading:  # the watch job and SIGHUP may ask at the same moment
            return self._reload()

    def _reload(self) -> bool:
        fingerprint = _fingerprint(self.settings.config_path)
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
            if _fingerprint(self.settings.config_path) != self._config_fingerprint:
                self._reload()

    def automations(self, cfg: config.Config) -> list[flux.ImageUpdateAutomation]:
        chosen = [a for _, a in sorted(cfg.automations.items()) if not a.suspend]
        if self.settings.shard is not None:
            index, count = self.settings.shard
            chosen = [a for a in chosen if pipeline.shard_of(a.key, count) == index]
        return chosen

    def sync_units(self, cfg: config.Config) -> list[sync.SyncUnit]:
        """The Applications written in the configuration and the Kustomizations the loop syncs
        (this shard's, when sharded); ApplicationSets' Applications come from their own jobs."""
        found = sync.units(list(cfg.applications.values()), list(cfg.kustomizations.values()),
                           cfg.git_repositories)
        if self.settings.shard is not None:
            index, count = self.settings.shard
            found = [u for u in found if pipeline.shard_of(u.key, count) == index]
        return found

    def application_sets(self, cfg: config.Config) -> list[argo.ApplicationSet]:
        """The ApplicationSets this service generates (this shard's, by the ApplicationSet's key:
        its Applications are synced by the shard that generates them)."""
        found = [a for _, a in sorted(cfg.application_sets.items())] if self.apps is not None else []
        if self.settings.shard is not None:
            index, count = self.settings.shard
            found = [a for a in found if pipeline.shard_of(a.key, count) == index]
        return found

    def repositories(self, cfg: config.Config) -> list[flux.ImageRepository]:
        """The repositories to scan: not suspended, and (when sharded) used by this shard."""
        repositories = [r for _, r in sorted(cfg.image_repositories.items()) if not r.suspend]
        if self.settings.shard is not None:
            wanted = {p.repository for a in self.automations(cfg) for p in pipeline.policies_for(cfg, a)}
            repositories = [r for r in repositories if r.key in wanted]
        return repositories

    # -- starting and stopping ----------------------------------------------------------------

    def start(self, *, paused: bool = False) -> None:
        """Load the configuration (a ``ConfigError`` here stops the start), open the state store,
        and schedule every job, each due right away (``paused``: scheduled, none run — tests)."""
        self._cfg = self._load()
        self._config_fingerprint = _fingerprint(self.settings.config_path)
        with StateStore(self.settings.state_path):
            pass  # opens (and creates) it: a store that cannot open is a start-up error
        self._scheduler.start(paused=paused)
        self._started = True
        self._schedule(self._cfg)
        if self.settings.watch > 0:
            self._scheduler.add_job(self.check_config, IntervalTrigger(seconds=self.settings.watch),
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

    # -- jobs -----------------------------------------------------------------------------------

    def _schedule(self, cfg: config.Config) -> None:
        wanted: dict[str, tuple[Callable[..., object], ObjectKey, datetime.timedelta]] = {}
        for repo in self.repositories(cfg):
            wanted[scan_job(repo.key)] = (self.scan, repo.key, repo.interval)
        for automation in self.automations(cfg):
            interval = automation.interval or DEFAULT_AUTOMATION_INTERVAL
            wanted[automation_job(automation.key)] = (self.run_automation, automation.key, interval)
        app_sets = self.application_sets(cfg)
        with self._units_guard:
            plain = self.sync_units(cfg) if self.apps is not None else []
            self._plain_units = {unit_job(u): u for u in plain}
            names = {a.key for a in app_sets}
            self._appset_units = {k: v for k, v in self._appset_units.items() if k in names}
            self._merge_units()
        for app_set in app_sets:  # generated now; then at their interval
            self.regenerate(appset_job(app_set.key), forced=True)
        appset_jobs = {appset_job(a.key) for a in app_sets}
        for job in self._scheduler.get_jobs():
            base = job.id.partition("#")[0]
            stale_appset = base.startswith(_APPSET_JOB) and base not in appset_jobs
            if (base.startswith(("scan:", "automation:")) and job.id not in wanted) or stale_appset:
                job.remove()
                logger.info("%s: no longer scheduled", job.id)
        now = datetime.datetime.now(datetime.UTC)
        for job_id, (func, key, interval) in wanted.items():
            seconds = max(interval.total_seconds(), 1.0)
            existing = self._scheduler.get_job(job_id)
            if existing is not None:
                trigger = existing.trigger
                if isinstance(trigger, IntervalTrigger) and trigger.interval.total_seconds() == seconds:
                    continue
                existing.remove()
            self._scheduler.add_job(func, IntervalTrigger(seconds=seconds), args=[key], id=job_id,
                                    next_run_time=now)
        seconds = max(self.settings.appset_interval.total_seconds(), 1.0)
        for app_set in app_sets:
            job_id = appset_job(app_set.key)
            if self._scheduler.get_job(job_id) is None:  # it has just run: next at its interval
                self._scheduler.add_job(self.regenerate, IntervalTrigger(seconds=seconds), args=[job_id],
                                        id=job_id)
        self._schedule_units()

    def _merge_units(self) -> None:
        """``_units`` anew (a new dict: readers on other threads see the old or the new one)."""
        merged = dict(self._plain_units)
        for key in sorted(self._appset_units):
            for job_id, unit in self._appset_units[key].items():
                if job_id in merged:
                    logger.warning("%s: generated by ApplicationSet %s, but already defined; ignored",
                                   job_id, key)
                    continue
                merged[job_id] = unit
        self._units = merged

    def _schedule_units(self) -> None:
        """The scheduler's unit jobs follow ``_units``: a new unit is due at once, one gone loses
        its jobs (pending triggers included), an interval change reschedules."""
        if not self._started:
            return
        with self._units_guard:
            units = dict(self._units)
            for job in self._scheduler.get_jobs():
                base = job.id.partition("#")[0]
                if base.startswith(_UNIT_JOBS) and base not in units:
                    job.remove()
                    logger.info("%s: no longer scheduled", job.id)
            now = datetime.datetime.now(datetime.UTC)
            for job_id, unit in units.items():
                seconds = max((unit.interval or DEFAULT_SYNC_INTERVAL).total_seconds(), 1.0)
                existing = self._scheduler.get_job(job_id)
                if existing is not None:
                    trigger = existing.trigger
                    if isinstance(trigger, IntervalTrigger) and trigger.interval.total_seconds() == seconds:
                        continue
                    existing.remove()
                self._scheduler.add_job(self.reconcile, IntervalTrigger(seconds=seconds), args=[job_id],
                                        id=job_id, next_run_time=now)

    def interval_of(self, job_id: str) -> datetime.timedelta | None:
        """The interval a job is scheduled at (``None``: not scheduled)."""
        job = self._scheduler.get_job(job_id)
        if job is None or not isinstance(job.trigger, IntervalTrigger):
            return None
        interval: datetime.timedelta = job.trigger.interval
        return interval

    def _scheduler_job_ids(self) -> list[str]:
        return [j.id for j in self._scheduler.get_jobs()]

    def scheduled(self) -> list[str]:
        kinds = ("scan:", "automation:", _APPSET_JOB, *_UNIT_JOBS)
        return sorted(j.id for j in self._scheduler.get_jobs() if j.id.startswith(kinds) and "#" not in j.id)

    def trigger_scan(self, keys: Iterable[ObjectKey]) -> list[ObjectKey]:
        """Scan these repositories soon (after the debounce); triggers already pending coalesce.

        Returns the repositories newly queued.
        """
        queued: list[ObjectKey] = []
        when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=self.settings.debounce)
        for key in keys:
            if self.book.stopping:
                break
            try:
                self._scheduler.add_job(self.scan, DateTrigger(when), args=[key], kwargs={"forced": True},
                                        id=f"hook:{key}")
            except ConflictingIdError:
                logger.debug("%s: a scan is already queued; coalesced", key)
                continue
            queued.append(key)
        return queued

    def _trigger_automations(self, repository: ObjectKey, *, forced: bool) -> None:
        cfg = self.cfg
        for automation in self.automations(cfg):
            if any(p.repository == repository for p in pipeline.policies_for(cfg, automation)):
                try:
                    self._scheduler.add_job(self.run_automation, args=[automation.key],
                                            kwargs={"forced": forced}, id=f"after-scan:{automation.key}")
                except ConflictingIdError:
                    pass  # one is queued already; it will see this scan too
                except JobLookupError:  # pragma: no cover - the scheduler is shutting down
                    pass

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

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
            fingerprint = _tags_fingerprint(result)
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
                error = _failure(report)
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

    # -- the sync loop ----------------------------------------------------------------------------

    def unit(self, job_id: str) -> sync.SyncUnit | None:
        return self._units.get(job_id)

    def reconcile(self, job_id: str, *, reason: str = "interval", forced: bool = False) -> Outcome:
        """The job of one Application or Kustomization: check it, sync it when the rules say so."""
        follow: list[Next] = []

        def work() -> None:
            unit = self._units.get(job_id)
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
        once = f"{job_id}#{'retry' if reason == 'retry' else 'check'}"
        existing = self._scheduler.get_job(once)
        if existing is not None:
            if existing.next_run_time is not None and existing.next_run_time <= when:
                return
            existing.remove()
        with contextlib.suppress(ConflictingIdError, JobLookupError):  # raced with another trigger
            self._scheduler.add_job(self.reconcile, DateTrigger(when), args=[job_id], id=once,
                                    kwargs={"reason": reason, "forced": reason == "retry"})

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
            try:
                self._scheduler.add_job(func, args=[job_id], id=f"{job_id}#now",
                                        kwargs={"reason": reason, "forced": True})
            except ConflictingIdError:
                continue  # one is queued and has not started: it will see this commit too
            queued.append(job_id)
        return queued

    # -- ApplicationSets ----------------------------------------------------------------------------

    def regenerate(self, job_id: str, *, reason: str = "interval", forced: bool = False) -> Outcome:
        """The job of one ApplicationSet: generate, apply its ``applicationsSync`` policy (as
        ``imagebot sync``), and make the loop follow: new Applications are scheduled (due at once),
        changed ones checked at once, dropped ones deleted (unless the policy keeps them) and
        removed from the loop, the state store and the listeners' view (metrics)."""
        namespace, _, name = job_id.removeprefix(_APPSET_JOB).partition("/")
        key = ObjectKey(namespace, name)

        def work() -> None:
            cfg = self.cfg
            app_set = cfg.application_sets.get(key)
            if app_set is None or self.apps is None or key not in {a.key for a in self.application_sets(cfg)}:
                return  # gone from the configuration, or another shard's
            logger.debug("%s: generating (%s)", job_id, reason)
            settled = self.apps.settle_application_set(app_set)
            failures = [_located(f) for f in settled.failures]
            found = {unit_job(u): u for u in sync.units(list(settled.applications))}
            with self._units_guard:
                previous = self._appset_units.get(key, {})
                if failures or key in settled.unread:  # nothing to go by: keep what the loop has
                    found = {**previous, **found}
                self._appset_units[key] = found
                self._merge_units()
            added = sorted(j for j in found if j not in previous)
            changed = sorted(j for j in found if j in previous and found[j] != previous[j])
            removed = {previous[j].name: j for j in previous if j not in found}
            for job_id_ in added:
                self.apps.revive(found[job_id_].name)
            self._schedule_units()
            if added:
                logger.info("ApplicationSet %s: new Application(s): %s", key, ", ".join(added))
            if changed:
                logger.info("ApplicationSet %s: changed Application(s), checked now: %s", key,
                            ", ".join(changed))
                self.trigger_units(changed, reason="application set")
            if removed and not self.book.wait_done(removed.values(), DROP_WAIT):
                logger.warning("ApplicationSet %s: a check of %s is still running; deleting anyway", key,
                               ", ".join(removed))
            deleted = self.apps.delete_dropped(app_set, settled)
            for unit in sorted({*removed, *deleted}):
                self._removed(key, unit, deleted.get(unit))
            for message in failures:
                for listener in self._listeners:
                    listener.appset_failed(key, message)
            if failures:
                raise PermanentError("; ".join(failures))
            failed = [f"{u}: {r.error}" for u, r in deleted.items() if r.failed]
            if key in settled.unread:
                failed.append("its record could not be read; the policy is applied at the next try")
            if failed:
                raise TemporaryError(f"ApplicationSet {key}: " + "; ".join(failed), delay=0)

        return self.book.run(job_id, work, force=forced)

    def _removed(self, app_set: ObjectKey, unit: str, result: SyncResult | None) -> None:
        if result is None:
            logger.info("ApplicationSet %s: %s left the loop", app_set, unit)
        elif result.failed:
            logger.error("ApplicationSet %s: deleting %s: %s", app_set, unit, result.error)
        else:
            logger.info("ApplicationSet %s: %s deleted: %s", app_set, unit, result.message)
        assert self.apps is not None
        self.apps.drop(unit)
        for listener in self._listeners:
            listener.app_removed(unit, result)

    def appsets_for_push(self, url: str, branch: str | None, *, explicit: bool = False) -> list[str]:
        """The ApplicationSet jobs a push of ``branch`` to ``url`` concerns: a git generator reads
        that repository at that branch (``explicit``: names the branch, for a pull request's)."""
        if self.apps is None or self._cfg is None:
            return []
        return [appset_job(a.key) for a in self.application_sets(self.cfg)
                if _reads(a, url, branch, explicit=explicit)]

    def appsets_for_receiver(self, receiver: notification.Receiver, push: Push) -> list[str]:
        """The ApplicationSet jobs a Git push webhook concerns: a git generator reads a
        GitRepository the receiver lists, or the receiver lists an Application it generated."""
        if self.apps is None:
            return []
        cfg = self.cfg
        urls = [r.url for r in cfg.git_repositories.values()
                if any(ref.matches("GitRepository", r.key) for ref in receiver.resources)]
        with self._units_guard:
            generated = {k: list(v.values()) for k, v in self._appset_units.items()}
        found = []
        for app_set in self.application_sets(cfg):
            names = any(ref.matches("Application", u.key) for ref in receiver.resources
                        for u in generated.get(app_set.key, ()))
            if names or any(_reads(app_set, url, push.branch) for url in urls):
                found.append(appset_job(app_set.key))
        return found

    def units_for_push(self, url: str, branch: str | None, paths: Iterable[str] | None) -> list[str]:
        """The unit jobs a push to ``url`` touches: same repository, the branch they follow
        (``None``: any), and — when the changed ``paths`` are known — their source path."""
        changed = None if paths is None else list(paths)
        return [job_id for job_id, unit in sorted(self._units.items())
                if _same_repository(unit.repo_url, url) and _pushed_to(unit, branch, changed)]

    def units_for_receiver(self, receiver: notification.Receiver, push: Push) -> list[str]:
        """The unit jobs a Git push webhook names: the Applications/Kustomizations the receiver
        lists (``name: '*'`` for all in its namespace), or those reading a GitRepository it lists;
        narrowed by the push's branch and changed paths when the payload says."""
        cfg = self.cfg
        urls = [r.url for r in cfg.git_repositories.values()
                if any(ref.matches("GitRepository", r.key) for ref in receiver.resources)]
        changed = None if push.paths is None else list(push.paths)
        found = []
        for job_id, unit in sorted(self._units.items()):
            listed = (any(ref.matches(unit.kind, unit.key) for ref in receiver.resources)
                      or any(_same_repository(unit.repo_url, url) for url in urls))
            if listed and _pushed_to(unit, push.branch, changed):
                found.append(job_id)
        return found

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
            units = self._units
            jobs = [j for j in self.units_for_push(repository.url, branch, paths)
                    if not run.pull_requests or (j in units and units[j].ref.branch == branch)]
            app_sets = self.appsets_for_push(repository.url, branch, explicit=bool(run.pull_requests))
            if app_sets:
                logger.info("%s pushed %s: generating %s", automation.key, run.revision, ", ".join(app_sets))
                self.trigger_appsets(app_sets, reason="push")
            if jobs:
                logger.info("%s pushed %s: syncing %s", automation.key, run.revision, ", ".join(jobs))
                self.trigger_units(jobs, reason="push")

    def _finished(self, job: str, outcome: Outcome, seconds: float, error: BaseException | None) -> None:
        for listener in self._listeners:
            listener.job_finished(job, outcome, seconds)


def _located(failure: sync.AppSetFailure) -> str:
    """``policies/shop.yaml:14: ApplicationSet argocd/shop: key.path: message``."""
    file, line = config.locate(failure.where, failure.key_path)
    where = f"{file}:{line}" if line else failure.where
    return f"{where}: ApplicationSet {failure.application_set}: {failure.key_path}: {failure.message}"


def _failure(report: pipeline.RunReport) -> ImagebotError | None:
    """The error a run's failures amount to: temporary only if every one of them is."""
    if not report.failures and not any(r.changes.errors for r in report.automations):
        return None
    scans_temporary = all(r.retryable for r in report.scans.values() if r.error)
    errors_temporary = all(isinstance(e, TemporaryError) for e in report.errors)
    message = "; ".join(str(f) for f in report.failures) or "; ".join(
        str(p) for r in report.automations for p in r.changes.errors)
    if scans_temporary and errors_temporary and not any(r.changes.errors for r in report.automations):
        delays = [e.delay for e in report.errors if isinstance(e, TemporaryError)]
        return TemporaryError(message, delay=max(delays, default=0.0))
    return PermanentError(message)
