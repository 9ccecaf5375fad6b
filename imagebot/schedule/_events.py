"""Events out: commits, pull requests, failures and re-pushed tags, posted as Flux ``Alert``s say.

A :class:`Notifier` is a :class:`~imagebot.schedule._listener.Listener`: each job outcome becomes
zero or more :class:`Event`\\ s, each is matched against the configuration's ``Alert`` objects
(event sources, severity, exclusion list, suspend) and posted to the alert's ``Provider`` — the
``generic`` JSON of Flux's notification-controller (``generic-hmac`` adds ``X-Signature``), or a
Slack-compatible incoming-webhook message. Posting happens on one background thread, so a slow
endpoint never holds up a job; each post is tried a few times (the one retry policy) and then
dropped with a log line. Addresses are secret (Slack's URL is its credential): they are never
logged. Posts use the standard library's ``urllib`` (httpx belongs to the scan stage).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import json
import logging
import queue
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Literal

from imagebot import config, pipeline
from imagebot.backoff import Backoff
from imagebot.model import notification
from imagebot.model.cluster import AppState, SyncRecord, SyncResult
from imagebot.model.ids import ObjectKey
from imagebot.model.scans import ScanResult
from imagebot.schedule._listener import Listener

__all__ = ["Event", "Notifier", "events_for_app", "render"]

logger = logging.getLogger("imagebot.schedule")

_API_VERSIONS = {
    "ImageRepository": "image.toolkit.fluxcd.io/v1",
    "ImagePolicy": "image.toolkit.fluxcd.io/v1",
    "ImageUpdateAutomation": "image.toolkit.fluxcd.io/v1",
    "Application": "argoproj.io/v1alpha1",
    "ApplicationSet": "argoproj.io/v1alpha1",
    "Kustomization": "kustomize.toolkit.fluxcd.io/v1",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """One thing worth telling someone, shaped like a Flux event."""

    kind: str
    key: ObjectKey
    severity: Literal["info", "error"]
    reason: str
    """``Committed``, ``PullRequestOpened``/``Updated``, ``ScanFailed``, ``RunFailed``, ``TagRepushed``;
    for Applications and Kustomizations ``Synced``, ``SyncFailed``, ``HealthDegraded``, ``Deleted``,
    ``DeleteFailed``; for ApplicationSets ``GenerationFailed``."""
    message: str
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    timestamp: datetime.datetime = dataclasses.field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC))


def events_for_run(automation: ObjectKey, report: pipeline.RunReport | None,
                   error: BaseException | None) -> list[Event]:
    found: list[Event] = []
    for run in report.automations if report is not None else ():
        for evaluation in run.evaluations:
            repush = evaluation.selection.repush if evaluation.selection else None
            if repush is not None:
                found.append(Event("ImagePolicy", evaluation.policy, "info", "TagRepushed",
                                   f"tag {repush.tag} was re-pushed: {repush.first_digest} when first seen, "
                                   f"{repush.digest} now", {"tag": repush.tag}))
        if run.pull_requests:
            for pull_request in run.pull_requests:
                verb = "opened" if pull_request.created else "updated"
                found.append(Event("ImageUpdateAutomation", automation, "info", f"PullRequest{verb.title()}",
                                   f"{verb} pull request #{pull_request.number}: {pull_request.url}",
                                   {"url": pull_request.url}))
        elif run.revision is not None and run.changes.files:
            changed = ", ".join(f"{c.old_value} -> {c.new_value}"
                                for f in run.changes.files for c in f.changes)
            found.append(Event("ImageUpdateAutomation", automation, "info", "Committed",
                               f"committed and pushed {run.revision.sha[:12]} to {run.revision.branch}: "
                               f"{changed}", {"revision": f"{run.revision.branch}@sha1:{run.revision.sha}"}))
    if error is not None:
        found.append(Event("ImageUpdateAutomation", automation, "error", "RunFailed", str(error)))
    return found


def events_for_app(state: AppState, record: SyncRecord | None, previous_health: str | None) -> list[Event]:
    """A sync that changed something (info), a sync that failed (error; its retries do not repeat
    the event), health turning Degraded (error)."""
    kind, _, name = state.unit.rpartition(" ")
    namespace, _, short = name.partition("/")
    key = ObjectKey(namespace, short)
    kind = kind or "Application"
    found: list[Event] = []
    if record is not None:
        metadata = {"revision": record.revision}
        if record.result == "Failed" and record.trigger != "retry":
            found.append(Event(kind, key, "error", "SyncFailed",
                               f"sync of {record.revision[:12]} failed: {record.message}", metadata))
        elif record.result == "Succeeded" and record.changed:
            found.append(Event(kind, key, "info", "Synced",
                               f"synced {record.revision[:12]} ({record.trigger}): "
                               f"{record.changed} object(s) changed", metadata))
    if state.health == "Degraded" and previous_health != "Degraded":
        found.append(Event(kind, key, "error", "HealthDegraded",
                           "health is Degraded: " + "; ".join(state.why), {"revision": state.revision}))
    return found


def render(event: Event, provider: notification.Provider, *, summary: str = "") -> bytes:
    """The body posted for ``event``: Flux's generic event JSON, or a Slack message."""
    if provider.type == "slack":
        text = event.message + (f"\n{summary}" if summary else "")
        message: dict[str, object] = {
            "username": provider.username or "imagebot",
            "attachments": [{
                "color": "danger" if event.severity == "error" else "good",
                "author_name": f"{event.kind.lower()}/{event.key.name}.{event.key.namespace}",
                "title": event.reason, "text": text, "mrkdwn_in": ["text"],
            }],
        }
        if provider.channel:
            message["channel"] = provider.channel
        return json.dumps(message).encode()
    metadata = dict(event.metadata)
    if summary:
        metadata["summary"] = summary
    return json.dumps({
        "involvedObject": {"kind": event.kind, "namespace": event.key.namespace, "name": event.key.name,
                           "apiVersion": _API_VERSIONS.get(event.kind, "")},
        "severity": event.severity, "timestamp": event.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "message": event.message, "reason": event.reason, "metadata": metadata,
        "reportingController": "imagebot", "reportingInstance": "imagebot",
    }).encode()


_RETRY = Backoff(attempts=3, base=1.0, cap=10.0)

Post = Callable[[str, bytes, dict[str, str]], None]


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read(65536)


class Notifier(Listener):
    """Listens to the service, posts matching events; ``close()`` drains the queue (bounded)."""

    def __init__(self, cfg: Callable[[], config.Config], secrets: config.SecretStore, *,
                 post: Post = _post, retry: Backoff = _RETRY,
                 on_sent: Callable[[ObjectKey, bool], None] | None = None) -> None:
        self._cfg = cfg
        self._secrets = secrets
        self._post = post
        self._retry = retry
        self._on_sent = on_sent
        self._queue: queue.Queue[tuple[str, bytes, dict[str, str], ObjectKey] | None] = queue.Queue(1000)
        self._thread = threading.Thread(target=self._work, name="imagebot-events", daemon=True)
        self._thread.start()

    # -- Listener --------------------------------------------------------------------------------

    def scanned(self, result: ScanResult, seconds: float) -> None:
        if result.error is not None:
            self.emit(Event("ImageRepository", result.key, "error", "ScanFailed", result.error))

    def automation_ran(self, automation: ObjectKey, report: pipeline.RunReport | None,
                       error: BaseException | None, seconds: float) -> None:
        for event in events_for_run(automation, report, error):
            self.emit(event)

    def app_checked(self, state: AppState, record: SyncRecord | None, previous_health: str | None) -> None:
        for event in events_for_app(state, record, previous_health):
            self.emit(event)

    def appset_failed(self, app_set: ObjectKey, message: str) -> None:
        self.emit(Event("ApplicationSet", app_set, "error", "GenerationFailed", message))

    def app_removed(self, unit: str, result: SyncResult | None) -> None:
        if result is None:
            return  # no longer generated, but not deleted (nothing happened in the cluster)
        namespace, _, name = unit.partition("/")
        if result.failed:
            self.emit(Event("Application", ObjectKey(namespace, name), "error", "DeleteFailed",
                            f"deleting it failed: {result.error}"))
        else:
            self.emit(Event("Application", ObjectKey(namespace, name), "info", "Deleted", result.message))

    # -- matching and sending ----------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        cfg = self._cfg()
        for alert in sorted(cfg.alerts.values(), key=lambda a: a.key):
            if alert.suspend or (alert.severity == "error" and event.severity != "error"):
                continue
            if not any(s.matches(event.kind, event.key) for s in alert.event_sources):
                continue
            if any(re.search(pattern, event.message) for pattern in alert.exclusion_list):
                continue
            provider = cfg.providers.get(alert.provider)
            if provider is None or provider.suspend:
                logger.warning("Alert %s: Provider %s not found or suspended", alert.key, alert.provider)
                continue
            from_secret = self._secrets.get(provider.secret_ref, "address") if provider.secret_ref else None
            address = from_secret or provider.address
            if not address or not address.startswith(("http://", "https://")):
                logger.error("Provider %s: no http(s) address", provider.key)
                continue
            body = render(event, provider, summary=alert.summary)
            headers = {"Content-Type": "application/json", "User-Agent": "imagebot"}
            if provider.type == "generic-hmac":
                token = self._secrets.get(provider.secret_ref, "token") if provider.secret_ref else None
                if not token:
                    logger.error("Provider %s: generic-hmac needs a 'token' in its secret", provider.key)
                    continue
                signature = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
                headers["X-Signature"] = f"sha256={signature}"
            try:
                self._queue.put_nowait((address, body, headers, provider.key))
            except queue.Full:
                logger.error("Provider %s: event queue full; event dropped", provider.key)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            address, body, headers, provider = item
            sent = False
            for attempt in range(self._retry.attempts):
                try:
                    self._post(address, body, headers)
                    sent = True
                    break
                except (OSError, urllib.error.URLError, ValueError) as exc:
                    reason = (f"HTTP {exc.code}" if isinstance(exc, urllib.error.HTTPError)
                              else type(exc).__name__)
                    logger.warning("Provider %s: posting an event failed (%s)", provider, reason)
                    if attempt + 1 < self._retry.attempts:
                        time.sleep(self._retry.delay(attempt))
            if self._on_sent is not None:
                self._on_sent(provider, sent)
            self._queue.task_done()

    def flush(self) -> None:
        """Wait until every queued event was posted or given up (tests, shutdown)."""
        self._queue.join()

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
