"""The jobs on APScheduler's clock: interval jobs kept in step with the configuration (an
unchanged interval keeps its place in time), one-off runs queued at once or later (coalesced by
id), and what is scheduled. Functions over the service's ``BackgroundScheduler``; called by
:class:`~imagebot.schedule._service.Service`.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections.abc import Callable, Mapping
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from imagebot.schedule._jobids import APPSET_JOB, INTERVAL_JOBS, UNIT_JOBS

__all__ = ["check_later", "every", "interval_of", "queue", "scheduled", "scheduler", "unschedule"]

logger = logging.getLogger("imagebot.schedule")


def scheduler(workers: int) -> BackgroundScheduler:
    """A scheduler whose jobs never overlap themselves and run on ``workers`` threads."""
    return BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=max(1, workers))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=datetime.UTC,
    )


def every(clock: BackgroundScheduler, func: Callable[..., object], job_id: str, arg: object,
          interval: datetime.timedelta, *, due: datetime.datetime | None) -> None:
    """Keep the job ``job_id`` when it already runs at this interval (at least a second), else
    (re)add it calling ``func(arg)``, first at ``due`` (None: one interval from now)."""
    seconds = max(interval.total_seconds(), 1.0)
    existing = clock.get_job(job_id)
    if existing is not None:
        trigger = existing.trigger
        if isinstance(trigger, IntervalTrigger) and trigger.interval.total_seconds() == seconds:
            return
        existing.remove()
    first: dict[str, datetime.datetime] = {} if due is None else {"next_run_time": due}
    clock.add_job(func, IntervalTrigger(seconds=seconds), args=[arg], id=job_id, **first)


def unschedule(clock: BackgroundScheduler, stale: Callable[[str], bool]) -> None:
    """Remove every job (one-off runs included) whose id is ``stale``."""
    for job in clock.get_jobs():
        if stale(job.id):
            job.remove()
            logger.info("%s: no longer scheduled", job.id)


def queue(clock: BackgroundScheduler, func: Callable[..., object], arg: object, *, job_id: str,
          when: datetime.datetime | None = None, kwargs: Mapping[str, Any] | None = None) -> bool:
    """Run ``func(arg, **kwargs)`` once, at ``when`` (None: now); False when a run with this id is
    already pending (it coalesces with this one)."""
    try:
        clock.add_job(func, None if when is None else DateTrigger(when), args=[arg], id=job_id,
                      kwargs=dict(kwargs or {}))
    except ConflictingIdError:
        return False
    return True


def check_later(clock: BackgroundScheduler, reconcile: Callable[..., object], job_id: str, *,
                when: datetime.datetime, reason: str) -> None:
    """One more check of a unit at ``when`` (an earlier one already queued wins)."""
    once = f"{job_id}#{'retry' if reason == 'retry' else 'check'}"
    existing = clock.get_job(once)
    if existing is not None:
        if existing.next_run_time is not None and existing.next_run_time <= when:
            return
        existing.remove()
    with contextlib.suppress(ConflictingIdError, JobLookupError):  # raced with another trigger
        clock.add_job(reconcile, DateTrigger(when), args=[job_id], id=once,
                      kwargs={"reason": reason, "forced": reason == "retry"})


def interval_of(clock: BackgroundScheduler, job_id: str) -> datetime.timedelta | None:
    """The interval a job is scheduled at (``None``: not scheduled)."""
    job = clock.get_job(job_id)
    if job is None or not isinstance(job.trigger, IntervalTrigger):
        return None
    interval: datetime.timedelta = job.trigger.interval
    return interval


def scheduled(clock: BackgroundScheduler) -> list[str]:
    """The interval jobs, without one-off runs."""
    kinds = (*INTERVAL_JOBS, APPSET_JOB, *UNIT_JOBS)
    return sorted(j.id for j in clock.get_jobs() if j.id.startswith(kinds) and "#" not in j.id)
