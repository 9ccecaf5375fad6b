"""What the service tells about its jobs: the :class:`Listener` protocol, which
:class:`~imagebot.schedule._metrics.Metrics` and :class:`~imagebot.schedule._events.Notifier`
implement and :class:`~imagebot.schedule._service.Service` and its job modules call.
"""

from __future__ import annotations

from typing import Protocol

from imagebot import pipeline
from imagebot.model.cluster import AppState, SyncRecord, SyncResult
from imagebot.model.ids import ObjectKey
from imagebot.model.scans import ScanResult
from imagebot.schedule._jobs import Outcome

__all__ = ["Listener"]


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
