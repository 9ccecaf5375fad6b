"""The ApplicationSet jobs' work: generate, apply the ``applicationsSync`` policy (as ``imagebot
sync`` does, through :class:`~imagebot.schedule._apps.AppLoop`), and make the loop follow — new
Applications join the :class:`~imagebot.schedule._units.UnitTable` (due at once), changed ones are
checked at once, dropped ones are deleted (unless the policy keeps them) and leave the loop, the
state store and the listeners' view (metrics). Called by
:meth:`imagebot.schedule._service.Service.regenerate` under the job book.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from imagebot import config, sync
from imagebot.errors import PermanentError, TemporaryError
from imagebot.model import argo
from imagebot.model.cluster import SyncResult
from imagebot.model.ids import ObjectKey
from imagebot.schedule._apps import AppLoop
from imagebot.schedule._jobids import unit_job
from imagebot.schedule._jobs import JobBook
from imagebot.schedule._listener import Listener
from imagebot.schedule._units import UnitTable

__all__ = ["DROP_WAIT", "AppSetJobs"]

logger = logging.getLogger("imagebot.schedule")

DROP_WAIT = 60.0
"""Seconds a regeneration waits for a running check of an Application it deletes."""


@dataclasses.dataclass(frozen=True, slots=True)
class AppSetJobs:
    """One per service with a cluster; ``schedule_units`` makes the scheduler follow the table,
    ``check_now`` queues unit jobs at once."""

    apps: AppLoop
    units: UnitTable
    book: JobBook
    listeners: Sequence[Listener]
    schedule_units: Callable[[], None]
    check_now: Callable[[list[str]], object]

    def generate(self, app_set: argo.ApplicationSet) -> None:
        """Raises ``PermanentError`` when it generated nothing (its recorded Applications go
        on), ``TemporaryError`` when a deletion failed or its record could not be read."""
        key = app_set.key
        settled = self.apps.settle_application_set(app_set)
        failures = [_located(f) for f in settled.failures]
        found = {unit_job(u): u for u in sync.units(list(settled.applications))}
        keep = bool(failures) or key in settled.unread  # nothing to go by: keep what the loop has
        previous, found = self.units.set_generated(key, found, keep=keep)
        added = sorted(j for j in found if j not in previous)
        changed = sorted(j for j in found if j in previous and found[j] != previous[j])
        removed = {previous[j].name: j for j in previous if j not in found}
        for job_id in added:
            self.apps.revive(found[job_id].name)
        self.schedule_units()
        if added:
            logger.info("ApplicationSet %s: new Application(s): %s", key, ", ".join(added))
        if changed:
            logger.info("ApplicationSet %s: changed Application(s), checked now: %s", key, ", ".join(changed))
            self.check_now(changed)
        if removed and not self.book.wait_done(removed.values(), DROP_WAIT):
            logger.warning("ApplicationSet %s: a check of %s is still running; deleting anyway", key,
                           ", ".join(removed))
        deleted = self.apps.delete_dropped(app_set, settled)
        for unit in sorted({*removed, *deleted}):
            self._removed(key, unit, deleted.get(unit))
        for message in failures:
            for listener in self.listeners:
                listener.appset_failed(key, message)
        if failures:
            raise PermanentError("; ".join(failures))
        failed = [f"{u}: {r.error}" for u, r in deleted.items() if r.failed]
        if key in settled.unread:
            failed.append("its record could not be read; the policy is applied at the next try")
        if failed:
            raise TemporaryError(f"ApplicationSet {key}: " + "; ".join(failed), delay=0)

    def _removed(self, app_set: ObjectKey, unit: str, result: SyncResult | None) -> None:
        if result is None:
            logger.info("ApplicationSet %s: %s left the loop", app_set, unit)
        elif result.failed:
            logger.error("ApplicationSet %s: deleting %s: %s", app_set, unit, result.error)
        else:
            logger.info("ApplicationSet %s: %s deleted: %s", app_set, unit, result.message)
        self.apps.drop(unit)
        for listener in self.listeners:
            listener.app_removed(unit, result)


def _located(failure: sync.AppSetFailure) -> str:
    """``policies/shop.yaml:14: ApplicationSet argocd/shop: key.path: message``."""
    file, line = config.locate(failure.where, failure.key_path)
    where = f"{file}:{line}" if line else failure.where
    return f"{where}: ApplicationSet {failure.application_set}: {failure.key_path}: {failure.message}"
