"""What the sync loop tells the outside: Alert events for a failed sync (once per operation, not
per retry) and for health turning Degraded, posted over real HTTP on loopback; ``/metrics``
gauges and counters per Application."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagebot import config
from imagebot.model.cluster import AppState, SyncRecord
from imagebot.schedule import Metrics, Notifier
from tests.schedule.test_events import Inbox, load

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
REV = "4f2a9c1d03be" + "0" * 28

ALERT = """\
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {{name: hook, namespace: argocd}}
spec: {{type: generic, address: '{base}/generic'}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {{name: apps, namespace: argocd}}
spec:
  providerRef: {{name: hook}}
  eventSeverity: error
  eventSources: [{{kind: Application, name: '*'}}]
"""


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    yield box
    box.server.shutdown()
    box.server.server_close()


def state(health: str = "Healthy", sync: str = "Synced", why: tuple[str, ...] = ()) -> AppState:
    return AppState(unit="argocd/web-dev", revision=REV, sync=sync, health=health,  # type: ignore[arg-type]
                    checked_at=T0, why=why)


def record(result: str, trigger: str = "new revision", changed: int = 1) -> SyncRecord:
    return SyncRecord(unit="argocd/web-dev", revision=REV, result=result, started_at=T0,  # type: ignore[arg-type]
                      finished_at=T0, changed=changed, trigger=trigger, message="Deployment web: boom")


def test_sync_failures_and_degraded_health_are_sent_once(tmp_path: Path, inbox: Inbox) -> None:
    cfg = load(tmp_path, ALERT.format(base=inbox.base))
    notifier = Notifier(lambda: cfg, config.SecretStore(tmp_path / "secrets"))
    try:
        notifier.app_checked(state(sync="OutOfSync"), record("Failed"), "Healthy")
        notifier.app_checked(state(sync="OutOfSync"), record("Failed", "retry"), "Healthy")  # not again
        notifier.app_checked(state(), record("Succeeded"), "Healthy")  # info: not for this alert
        notifier.app_checked(state("Degraded", why=("Deployment web: CrashLoopBackOff",)), None, "Progressing")
        notifier.app_checked(state("Degraded"), None, "Degraded")  # still Degraded: no new event
        notifier.flush()
    finally:
        notifier.close()
    sent = [body for _, _, body in inbox.received]
    assert [(b["reason"], b["severity"]) for b in sent] == [("SyncFailed", "error"), ("HealthDegraded", "error")]
    assert sent[0]["involvedObject"] == {"kind": "Application", "namespace": "argocd", "name": "web-dev",
                                         "apiVersion": "argoproj.io/v1alpha1"}
    assert sent[0]["message"] == "sync of 4f2a9c1d03be failed: Deployment web: boom"
    assert sent[1]["message"] == "health is Degraded: Deployment web: CrashLoopBackOff"


def test_metrics_per_application() -> None:
    metrics = Metrics()
    metrics.app_checked(state("Progressing"), record("Succeeded"), None)
    metrics.app_checked(state("Degraded", "OutOfSync"), record("Failed"), "Progressing")
    text = metrics.render().decode()
    assert 'imagebot_app_sync_status{app="argocd/web-dev",status="OutOfSync"} 1.0' in text
    assert 'imagebot_app_sync_status{app="argocd/web-dev",status="Synced"} 0.0' in text
    assert 'imagebot_app_health_status{app="argocd/web-dev",status="Degraded"} 1.0' in text
    assert 'imagebot_app_health_status{app="argocd/web-dev",status="Progressing"} 0.0' in text
    assert 'imagebot_app_syncs_total{app="argocd/web-dev",result="Succeeded"} 1.0' in text
    assert 'imagebot_app_syncs_total{app="argocd/web-dev",result="Failed"} 1.0' in text
    assert 'imagebot_app_last_sync_succeeded{app="argocd/web-dev"} 0.0' in text
    assert 'imagebot_app_last_sync_timestamp_seconds{app="argocd/web-dev"} 1.7672256e+09' in text
