"""Events out: Flux ``Alert``/``Provider`` objects read as they are, events posted over real HTTP
on loopback as Flux's generic JSON (with ``X-Signature`` for generic-hmac) or a Slack message;
severity, event sources and exclusion lists decide what is sent; secrets never logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from imagebot import config
from imagebot.errors import ConfigError
from imagebot.model.ids import ObjectKey
from imagebot.model.images import parse_image_repo
from imagebot.model.scans import ScanResult
from imagebot.schedule import Event, Notifier

APP = ObjectKey("flux-system", "apps")


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], dict[str, object]]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                inbox.received.append((self.path, dict(self.headers.items()), json.loads(body)))
                inbox.raw = body
                self.send_response(500 if self.path == "/broken" else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.raw = b""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    yield box
    box.server.shutdown()
    box.server.server_close()


def load(tmp_path: Path, text: str) -> config.Config:
    (tmp_path / "cfg").mkdir(exist_ok=True)
    (tmp_path / "cfg" / "alerts.yaml").write_text(text)
    return config.load(tmp_path / "cfg")


ALERTS = """\
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {{name: hook, namespace: flux-system}}
spec: {{type: generic-hmac, address: '{base}/generic', secretRef: {{name: hook}}}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {{name: slack, namespace: flux-system}}
spec: {{type: slack, channel: deploys, secretRef: {{name: slack}}}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {{name: everything, namespace: flux-system}}
spec:
  providerRef: {{name: hook}}
  eventSeverity: info
  eventSources: [{{kind: ImageUpdateAutomation, name: '*'}}, {{kind: ImageRepository, name: '*'}}]
  exclusionList: ['ignore me']
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {{name: failures, namespace: flux-system}}
spec:
  providerRef: {{name: slack}}
  eventSeverity: error
  summary: from the test cluster
  eventSources: [{{kind: ImageRepository, name: app}}]
"""


@pytest.fixture
def notifier(tmp_path: Path, inbox: Inbox) -> Iterator[Notifier]:
    cfg = load(tmp_path, ALERTS.format(base=inbox.base))
    secrets = tmp_path / "secrets"
    (secrets / "hook").mkdir(parents=True)
    (secrets / "hook" / "token").write_text("hmac-key")
    (secrets / "slack").mkdir()
    (secrets / "slack" / "address").write_text(f"{inbox.base}/slack/T000/B000/XXXX")
    notifier = Notifier(lambda: cfg, config.SecretStore(secrets))
    yield notifier
    notifier.close()


def test_an_info_event_goes_to_the_generic_provider_signed_as_flux_does(notifier: Notifier, inbox: Inbox) -> None:
    notifier.emit(Event("ImageUpdateAutomation", APP, "info", "Committed", "committed and pushed abc to main"))
    notifier.flush()

    assert len(inbox.received) == 1
    path, headers, body = inbox.received[0]
    assert path == "/generic"
    expected = "sha256=" + hmac.new(b"hmac-key", inbox.raw, hashlib.sha256).hexdigest()
    assert headers["X-Signature"] == expected
    assert body["involvedObject"] == {"kind": "ImageUpdateAutomation", "namespace": "flux-system",
                                      "name": "apps", "apiVersion": "image.toolkit.fluxcd.io/v1"}
    assert (body["severity"], body["reason"], body["reportingController"]) == ("info", "Committed", "imagebot")


def test_a_failed_scan_reaches_both_alerts_and_slack_gets_its_message(notifier: Notifier, inbox: Inbox) -> None:
    result = ScanResult(ObjectKey("flux-system", "app"), parse_image_repo("ghcr.io/org/app"),
                        error="registry ghcr.io: answered 503")

    notifier.scanned(result, 0.1)
    notifier.flush()

    by_path = {path.split("/")[1]: body for path, _, body in inbox.received}
    assert set(by_path) == {"generic", "slack"}
    slack = by_path["slack"]
    assert slack["channel"] == "deploys"
    attachment = slack["attachments"][0]  # type: ignore[index]
    assert attachment["color"] == "danger"
    assert attachment["author_name"] == "imagerepository/app.flux-system"
    assert attachment["text"] == "registry ghcr.io: answered 503\nfrom the test cluster"


def test_severity_sources_and_exclusions_decide_what_is_sent(notifier: Notifier, inbox: Inbox) -> None:
    notifier.emit(Event("ImageUpdateAutomation", APP, "info", "Committed", "please ignore me"))
    notifier.emit(Event("ImagePolicy", ObjectKey("flux-system", "app"), "info", "TagRepushed", "re-pushed"))
    notifier.emit(Event("ImageRepository", ObjectKey("flux-system", "other"), "info", "x", "fine"))
    notifier.flush()

    assert [(p, b["reason"]) for p, _, b in inbox.received] == [("/generic", "x")]


def test_a_failing_endpoint_is_retried_then_dropped_without_logging_its_address(
    tmp_path: Path, inbox: Inbox, caplog: pytest.LogCaptureFixture,
) -> None:
    from imagebot.backoff import Backoff
    cfg = load(tmp_path, ALERTS.format(base=inbox.base).replace("/generic'", "/broken'"))
    secrets = tmp_path / "secrets"
    (secrets / "hook").mkdir(parents=True)
    (secrets / "hook" / "token").write_text("hmac-key")
    sent: list[bool] = []
    notifier = Notifier(lambda: cfg, config.SecretStore(secrets), retry=Backoff(attempts=2, base=0, jitter=False),
                        on_sent=lambda provider, ok: sent.append(ok))
    notifier.emit(Event("ImageUpdateAutomation", APP, "info", "Committed", "done"))
    notifier.flush()
    notifier.close()

    assert len(inbox.received) == 2
    assert sent == [False]
    assert "HTTP 500" in caplog.text
    assert inbox.base not in caplog.text


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("apiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\nmetadata: {name: r}\n"
                 "spec: {type: gitlab, secretRef: {name: s}, resources: [{kind: ImageRepository, name: a}]}\n",
                 "spec.type: imagebot handles generic", id="receiver-type"),
    pytest.param("apiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\nmetadata: {name: r}\n"
                 "spec: {type: github, secretRef: {name: s}, resources: [{kind: HelmRepository, name: a}]}\n",
                 "spec.resources[0].kind: must be one of ImageRepository, GitRepository, Application, "
                 "Kustomization", id="receiver-resource-kind"),
    pytest.param("apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata: {name: p}\n"
                 "spec: {type: slack}\n", "spec.address: is required", id="provider-address"),
])
def test_notification_objects_with_errors_name_the_key_path(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(tmp_path, text)
