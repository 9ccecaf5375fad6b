"""What a scan or an automation run amounts to for its job: whether a scan saw new tags or
digests (:func:`tags_fingerprint`), the error a run's failures make (:func:`failure`, temporary
only if every one is), and :class:`Abandoned` for a run a stop cut short. Used by the scan and
automation jobs of :class:`~imagebot.schedule._service.Service`.
"""

from __future__ import annotations

import hashlib

from imagebot import pipeline
from imagebot.errors import ImagebotError, PermanentError, TemporaryError
from imagebot.model.scans import ScanResult

__all__ = ["Abandoned", "failure", "tags_fingerprint"]


class Abandoned(TemporaryError):
    """The service is stopping: the run was abandoned before it pushed anything."""


def tags_fingerprint(result: ScanResult) -> str | None:
    if result.tags is None:
        return None
    digest = hashlib.sha256()
    for tag in sorted(result.tags.tags):
        digest.update(f"{tag}\0{result.tags.digests.get(tag, '')}\n".encode())
    return digest.hexdigest()


def failure(report: pipeline.RunReport) -> ImagebotError | None:
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
