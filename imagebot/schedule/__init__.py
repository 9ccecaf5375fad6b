"""The long-running runtime (``imagebot serve``): scheduled scans and automations, webhooks in,
metrics and events out, and — with a cluster — the sync loop over Applications and Kustomizations
(:mod:`imagebot.sync`). The only home of APScheduler; it sits between the commands and the
pipeline, and every automation job goes through :mod:`imagebot.pipeline`.
"""

from imagebot.schedule._events import Event, Notifier
from imagebot.schedule._hooks import ReplayGuard, hook_path
from imagebot.schedule._http import HTTPServer
from imagebot.schedule._jobs import PERMANENT, TEMPORARY, Clock, JobBook, JobState, Outcome
from imagebot.schedule._metrics import Metrics
from imagebot.schedule._service import (
    Abandoned,
    Listener,
    ServeSettings,
    Service,
    automation_job,
    scan_job,
    unit_job,
)

__all__ = [
    "PERMANENT",
    "TEMPORARY",
    "Abandoned",
    "Clock",
    "Event",
    "HTTPServer",
    "JobBook",
    "JobState",
    "Listener",
    "Metrics",
    "Notifier",
    "Outcome",
    "ReplayGuard",
    "ServeSettings",
    "Service",
    "automation_job",
    "hook_path",
    "scan_job",
    "unit_job",
]
