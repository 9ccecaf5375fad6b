"""What the service tells about its jobs: :class:`Listener`, the base of
:class:`~imagebot.schedule._metrics.Metrics` and :class:`~imagebot.schedule._events.Notifier`,
which :class:`~imagebot.schedule._service.Service` and its job modules call. Every notification
does nothing by default: a listener overrides those it needs, and a new notification reaches
none that does not ask for it.
"""

from __future__ import annotations

from imagebot import pipeline
from imagebot.model.cluster import AppState, SyncRecord, SyncResult
from imagebot.model.ids import ObjectKey
from imagebot.model.scans import ScanResult
from imagebot.schedule._jobs import Outcome

__all__ = ["Listener"]


class Listener:
    """Told what the jobs did (metrics, outgoing events); must not raise."""

    def scanned(self, result: ScanResult, seconds: float) -> None:
        """An ImageRepository was listed (``result.error``: it failed)."""

    def automation_ran(self, automation: ObjectKey, report: pipeline.RunReport | None,
                       error: BaseException | None, seconds: float) -> None:
        """An automation job ended, with its report or the error that stopped it."""

    def job_finished(self, job: str, outcome: Outcome, seconds: float) -> None:
        """Any job ended (``outcome``: ok, failed, abandoned, ...)."""

    def push_retried(self, automation: ObjectKey) -> None:
        """A push lost a race and is re-applied."""

    def config_reloaded(self, ok: bool) -> None:
        """The configuration was read again (``ok``: and taken)."""

    def registry_request(self, host: str, status: int | None, remaining: int | None) -> None:
        """A registry answered (``status`` None: no answer; ``remaining``: its rate-limit budget)."""

    def app_checked(self, state: AppState, record: SyncRecord | None,
                    previous_health: str | None) -> None:
        """A unit was checked (``record``: it was synced; ``previous_health``: the last check's)."""

    def appset_failed(self, app_set: ObjectKey, message: str) -> None:
        """The ApplicationSet generated nothing (``message``: the error at file:line); its
        recorded Applications go on."""

    def app_removed(self, unit: str, result: SyncResult | None) -> None:
        """The unit left the loop: its ApplicationSet deleted it (``result``: the deletion) or no
        longer has it."""
