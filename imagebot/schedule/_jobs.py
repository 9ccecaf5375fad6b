"""The job book: one record per job (a scan or an automation), kept by the scheduler.

``JobBook.run(key, work)`` runs ``work`` unless that job is already running (then it asks the
running one to go once more — a burst of triggers coalesces into one extra run), is backing off
after a failure, or the service is stopping. A failure never escapes: a
:class:`~imagebot.errors.TemporaryError` backs off by the temporary policy (at least the delay the
error asks for), anything else by the slower permanent one. The clock is injected, so tests drive
time without sleeping. Called by :mod:`imagebot.schedule._service` from APScheduler's workers.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Literal

from imagebot.backoff import Backoff
from imagebot.errors import ImagebotError, TemporaryError

__all__ = ["PERMANENT", "TEMPORARY", "Clock", "JobBook", "JobState", "Outcome"]

logger = logging.getLogger("imagebot.schedule")

Clock = Callable[[], datetime.datetime]
Outcome = Literal["ok", "failed", "busy", "backing-off", "stopping"]
"""``busy``: the job was running, so it will run once more when done (coalesced)."""

TEMPORARY = Backoff(attempts=1_000_000, base=30.0, cap=15 * 60.0)
"""Waits after a temporary failure (registry 5xx, push race lost, remote unreachable)."""
PERMANENT = Backoff(attempts=1_000_000, base=5 * 60.0, cap=6 * 3600.0)
"""Waits after an error that needs a human; a config reload clears them."""


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass(slots=True)
class JobState:
    """What the book knows of one job (read a copy with :meth:`JobBook.state`)."""

    failures: int = 0
    not_before: datetime.datetime | None = None
    running: bool = False
    again: bool = False
    runs: int = 0
    last_error: str | None = None
    last_success: datetime.datetime | None = None


class JobBook:
    """``book.run("scan:flux-system/app", lambda: ...)`` → ``"ok"``, ``"failed"``, …"""

    def __init__(
        self,
        *,
        clock: Clock = _utcnow,
        temporary: Backoff = TEMPORARY,
        permanent: Backoff = PERMANENT,
        on_finish: Callable[[str, Outcome, float, BaseException | None], None] | None = None,
    ) -> None:
        self._clock = clock
        self._temporary = temporary
        self._permanent = permanent
        self._on_finish = on_finish
        self._jobs: dict[str, JobState] = {}
        self._changed = threading.Condition()
        self._stopping = False

    def state(self, key: str) -> JobState:
        with self._changed:
            return dataclasses.replace(self._jobs.get(key) or JobState())

    @property
    def stopping(self) -> bool:
        return self._stopping

    def running(self) -> list[str]:
        with self._changed:
            return sorted(k for k, s in self._jobs.items() if s.running)

    def run(self, key: str, work: Callable[[], object], *, force: bool = False) -> Outcome:
        """Run ``work`` as job ``key``; ``force`` (a webhook) ignores the back-off wait."""
        with self._changed:
            if self._stopping:
                return "stopping"
            job = self._jobs.setdefault(key, JobState())
            if job.running:
                job.again = True
                return "busy"
            if not force and job.not_before is not None and self._clock() < job.not_before:
                logger.debug("%s: backing off until %s", key, job.not_before.isoformat())
                return "backing-off"
            job.running = True
        outcome: Outcome = "ok"
        try:
            while True:
                outcome = self._once(key, job, work)
                with self._changed:
                    if not job.again or self._stopping:
                        break
                    job.again = False
        finally:
            with self._changed:
                job.running = False
                job.again = False
                self._changed.notify_all()
        return outcome

    def _once(self, key: str, job: JobState, work: Callable[[], object]) -> Outcome:
        started = time.monotonic()
        error: BaseException | None = None
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - the job boundary: a failing job never kills the service
            error = exc
        elapsed = time.monotonic() - started
        with self._changed:
            job.runs += 1
            now = self._clock()
            if error is None:
                job.failures, job.not_before, job.last_error, job.last_success = 0, None, None, now
            else:
                wait = self._wait(job.failures, error)
                job.failures += 1
                job.not_before = now + datetime.timedelta(seconds=wait)
                job.last_error = str(error) or type(error).__name__
        outcome: Outcome = "ok" if error is None else "failed"
        if error is not None:
            known = isinstance(error, ImagebotError)
            logger.error("%s failed (%s); next try not before %s: %s", key,
                         "temporary" if isinstance(error, TemporaryError) else "needs a human",
                         job.not_before.isoformat() if job.not_before else "?", error,
                         exc_info=None if known else error)
        if self._on_finish is not None:
            self._on_finish(key, outcome, elapsed, error)
        return outcome

    def _wait(self, failures: int, error: BaseException) -> float:
        if isinstance(error, TemporaryError):
            return max(self._temporary.delay(failures), min(error.delay, self._temporary.cap))
        return self._permanent.delay(failures)

    def forgive(self, keys: Iterable[str] | None = None) -> None:
        """Clear the back-off of these jobs (all: after a config reload a human may have fixed it)."""
        with self._changed:
            for key in list(self._jobs) if keys is None else keys:
                job = self._jobs.get(key)
                if job is not None:
                    job.failures, job.not_before = 0, None

    def stop(self) -> None:
        """Take no more jobs; running ones finish (or abandon before pushing)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    def wait_done(self, keys: Iterable[str], timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for these jobs to end (if running); ``False`` if some did not."""
        wanted = set(keys)
        deadline = time.monotonic() + timeout
        with self._changed:
            while any(s.running for k, s in self._jobs.items() if k in wanted):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every running job to end; ``False`` if some did not."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while any(s.running for s in self._jobs.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True
