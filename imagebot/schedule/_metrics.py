"""``/metrics``: what the service did, in Prometheus' text format — the only prometheus_client import.

:class:`Metrics` is a :class:`~imagebot.schedule._listener.Listener` (told about every scan,
automation run and job) and the registry-request observer the scan stage calls. It keeps its own
``CollectorRegistry``, so two services in one process (tests) never share counters. Labels are
object names, registry hosts and status codes — never a URL with credentials or a message.
"""

from __future__ import annotations

import contextlib
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from imagebot import pipeline
from imagebot.model.cluster import AppState, SyncRecord, SyncResult
from imagebot.model.ids import ObjectKey
from imagebot.model.scans import ScanResult
from imagebot.schedule._jobs import Outcome
from imagebot.schedule._listener import Listener

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
SYNC_STATUSES = ("Synced", "OutOfSync", "Unknown")
HEALTH_STATUSES = ("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown")


class Metrics(Listener):
    """Counters and gauges of one service; ``render()`` is the ``/metrics`` body."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.scans = Counter("imagebot_scans", "ImageRepository scans, by outcome",
                             ["repository", "outcome"], registry=r)
        self.tags = Gauge("imagebot_tags_seen", "Tags the last successful scan listed", ["repository"],
                          registry=r)
        self.selections = Counter("imagebot_selections", "Tags a policy selected in an automation run",
                                  ["policy"], registry=r)
        self.repushed = Counter("imagebot_repushed_tags", "Selected tags found re-pushed (digest changed)",
                                ["policy"], registry=r)
        self.commits = Counter("imagebot_commits", "Commits pushed by automations", ["automation"],
                               registry=r)
        self.pull_requests = Counter("imagebot_pull_requests", "Pull requests opened or updated",
                                     ["automation", "action"], registry=r)
        self.push_retries = Counter("imagebot_push_retries",
                                    "Pushes retried after losing a race (fetch, re-apply, push again)",
                                    ["automation"], registry=r)
        self.automation_runs = Counter("imagebot_automation_runs", "Automation runs, by outcome",
                                       ["automation", "outcome"], registry=r)
        self.registry_requests = Counter(
            "imagebot_registry_requests", "HTTP requests to registries, by status ('error': no answer)",
            ["registry", "status"], registry=r)
        self.registry_errors = Counter(
            "imagebot_registry_errors", "Registry requests that failed (no answer, or status >= 400)",
            ["registry", "status"], registry=r)
        self.rate_limit = Gauge("imagebot_registry_ratelimit_remaining",
                                "Requests left in the registry's rate-limit window (ratelimit-remaining)",
                                ["registry"], registry=r)
        self.durations = Histogram("imagebot_job_duration_seconds", "How long jobs ran", ["kind"],
                                   buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), registry=r)
        self.jobs = Counter("imagebot_jobs", "Job runs and skips, by outcome", ["kind", "outcome"],
                            registry=r)
        self.last_success = Gauge("imagebot_last_success_timestamp_seconds",
                                  "When a job last succeeded (Unix time)", ["kind", "name"], registry=r)
        self.webhooks = Counter("imagebot_webhooks", "Webhook deliveries, by receiver and result",
                                ["receiver", "result"], registry=r)
        self.events = Counter("imagebot_events_sent", "Events sent to Alert providers, by result",
                              ["provider", "result"], registry=r)
        self.reloads = Counter("imagebot_config_reloads", "Configuration reloads, by outcome", ["outcome"],
                               registry=r)
        self.app_sync = Gauge("imagebot_app_sync_status", "1 for the unit's sync status at the last check",
                              ["app", "status"], registry=r)
        self.app_health = Gauge("imagebot_app_health_status", "1 for the unit's health at the last check",
                                ["app", "status"], registry=r)
        self.app_syncs = Counter("imagebot_app_syncs", "Syncs the loop ran, by result (Succeeded, Failed)",
                                 ["app", "result"], registry=r)
        self.app_last_result = Gauge("imagebot_app_last_sync_succeeded",
                                     "1 if the unit's last sync succeeded, 0 if it failed", ["app"],
                                     registry=r)
        self.appset_failures = Counter("imagebot_appset_generation_failures",
                                       "ApplicationSet generations that failed (its Applications kept)",
                                       ["appset"], registry=r)
        self.app_last_sync = Gauge("imagebot_app_last_sync_timestamp_seconds",
                                   "When the unit's last sync ended (Unix time)", ["app"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # -- the scan stage's observer ---------------------------------------------------------------

    def registry_request(self, host: str, status: int | None, remaining: int | None) -> None:
        label = "error" if status is None else str(status)
        self.registry_requests.labels(host, label).inc()
        if status is None or status >= 400:
            self.registry_errors.labels(host, label).inc()
        if remaining is not None:
            self.rate_limit.labels(host).set(remaining)

    # -- the service's listener ------------------------------------------------------------------

    def scanned(self, result: ScanResult, seconds: float) -> None:
        name = str(result.key)
        self.scans.labels(name, "ok" if result.error is None else "failed").inc()
        if result.tags is not None:
            self.tags.labels(name).set(len(result.tags.tags))

    def automation_ran(self, automation: ObjectKey, report: pipeline.RunReport | None,
                       error: BaseException | None, seconds: float) -> None:
        name = str(automation)
        self.automation_runs.labels(name, "ok" if error is None else "failed").inc()
        for run in report.automations if report is not None else ():
            for evaluation in run.evaluations:
                if evaluation.selection is not None:
                    self.selections.labels(str(evaluation.policy)).inc()
                    if evaluation.selection.repush is not None:
                        self.repushed.labels(str(evaluation.policy)).inc()
            if run.revision is not None and run.changes.files and not run.pull_requests:
                self.commits.labels(name).inc()
            for pull_request in run.pull_requests:
                self.pull_requests.labels(name, "opened" if pull_request.created else "updated").inc()

    def push_retried(self, automation: ObjectKey) -> None:
        self.push_retries.labels(str(automation)).inc()

    def config_reloaded(self, ok: bool) -> None:
        self.reloads.labels("ok" if ok else "failed").inc()

    def app_checked(self, state: AppState, record: SyncRecord | None, previous_health: str | None) -> None:
        app = state.unit
        for status in SYNC_STATUSES:
            self.app_sync.labels(app, status).set(1 if state.sync == status else 0)
        for health in HEALTH_STATUSES:
            self.app_health.labels(app, health).set(1 if state.health == health else 0)
        if record is not None:
            self.app_syncs.labels(app, record.result).inc()
            self.app_last_result.labels(app).set(1 if record.result == "Succeeded" else 0)
            self.app_last_sync.labels(app).set(record.finished_at.timestamp())

    def appset_failed(self, app_set: ObjectKey, message: str) -> None:
        self.appset_failures.labels(str(app_set)).inc()

    def app_removed(self, unit: str, result: SyncResult | None) -> None:
        """The unit's series go (an Application its ApplicationSet deleted is no longer a target)."""
        kind = "kustomization" if unit.startswith("Kustomization ") else "app"
        for series, labels in (
            *((self.app_sync, (unit, status)) for status in SYNC_STATUSES),
            *((self.app_health, (unit, health)) for health in HEALTH_STATUSES),
            *((self.app_syncs, (unit, outcome)) for outcome in ("Succeeded", "Failed")),
            (self.app_last_result, (unit,)), (self.app_last_sync, (unit,)),
            (self.last_success, (kind, unit.removeprefix("Kustomization "))),
        ):
            with contextlib.suppress(KeyError):
                series.remove(*labels)

    def job_finished(self, job: str, outcome: Outcome, seconds: float) -> None:
        kind, _, name = job.partition(":")
        self.jobs.labels(kind, outcome).inc()
        if outcome in ("ok", "failed"):
            self.durations.labels(kind).observe(seconds)
        if outcome == "ok":
            self.last_success.labels(kind, name).set(time.time())
