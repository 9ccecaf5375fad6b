"""The HTTP server over real loopback HTTP: health, readiness, metrics, and webhook receivers
(Flux ``Receiver`` objects) with real signatures — bad signatures, replays, bursts, oversized
bodies. The scheduler is started paused, so an accepted hook is seen as a queued scan job."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from imagebot import config
from imagebot.model.ids import ObjectKey
from imagebot.model.notification import EventSource, Receiver
from imagebot.schedule import HTTPServer, Metrics, ReplayGuard, ServeSettings, Service
from imagebot.schedule._hooks import Rejected
from tests.schedule.conftest import repository

TOKEN = "hook-token-4f9a2c"

RECEIVERS = """\
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {{name: {name}, namespace: flux-system}}
spec:
  type: {type}
  secretRef: {{name: hooks}}
  resources:
    - {{kind: ImageRepository, name: '{resource}'}}
"""


@pytest.fixture
def stack(policies: Path, tmp_path: Path) -> Iterator[tuple[Service, HTTPServer, Metrics]]:
    (policies / "more.yaml").write_text(
        repository("gh", "ghcr.io/org/app") + "---\n" + repository("hub", "docker.io/org/app") + "---\n"
        + repository("harbor", "harbor.example.com/library/app") + "---\n"
        + repository("quay", "quay.io/org/app")
    )
    (policies / "receivers.yaml").write_text("---\n".join(
        RECEIVERS.format(name=kind, type=kind, resource=resource) for kind, resource in (
            ("github", "*"), ("dockerhub", "hub"), ("harbor", "harbor"), ("quay", "quay"),
            ("generic", "*"), ("generic-hmac", "app"),
        )
    ))
    secrets = tmp_path / "secrets"
    (secrets / "hooks").mkdir(parents=True)
    (secrets / "hooks" / "token").write_text(TOKEN)
    service = Service(ServeSettings(config_path=policies, secrets_dir=secrets, state_path=tmp_path / "s.db",
                                    watch=0, debounce=60))
    metrics = Metrics()
    service.add_listener(metrics)
    service.start(paused=True)
    server = HTTPServer(("127.0.0.1", 0), service=service, metrics=metrics,
                        secrets=config.SecretStore(secrets), max_body=4096).start()
    yield service, server, metrics
    server.stop()
    service.stop(0)


def url(server: HTTPServer, name: str) -> str:
    paths = server.paths()
    return f"http://127.0.0.1:{server.port}{paths[ObjectKey('flux-system', name)]}"


def queued(service: Service) -> list[str]:
    return sorted(j for j in service._scheduler_job_ids() if j.startswith("hook:"))


def sign(body: bytes, token: str = TOKEN) -> str:
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def github(package: str, *, delivery: str = "d-1") -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"action": "published", "package": {
        "name": "app", "namespace": "org", "package_version": {"package_url": package}}}).encode()
    return body, {"X-GitHub-Event": "package", "X-GitHub-Delivery": delivery,
                  "X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}


def test_health_readiness_and_metrics(stack: tuple[Service, HTTPServer, Metrics]) -> None:
    service, server, _ = stack
    base = f"http://127.0.0.1:{server.port}"

    assert httpx.get(f"{base}/healthz").status_code == 200
    ready = httpx.get(f"{base}/readyz")
    metrics = httpx.get(f"{base}/metrics")

    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert metrics.status_code == 200
    assert "# TYPE imagebot_scans_total counter" in metrics.text
    assert "# TYPE imagebot_job_duration_seconds histogram" in metrics.text
    service.stop(0)
    assert httpx.get(f"{base}/readyz").status_code == 503


def test_a_signed_github_package_event_queues_a_scan_of_the_matching_repository(
    stack: tuple[Service, HTTPServer, Metrics],
) -> None:
    service, server, _ = stack
    body, headers = github("ghcr.io/org/app:1.2.3")

    answer = httpx.post(url(server, "github"), content=body, headers=headers)

    assert answer.status_code == 202, answer.text
    assert answer.json()["repositories"] == ["flux-system/gh"]
    assert queued(service) == ["hook:flux-system/gh"]


@pytest.mark.parametrize("signature", [
    pytest.param(None, id="unsigned"),
    pytest.param(sign(b"other body"), id="signature-of-another-body"),
    pytest.param(sign(b"", token="wrong"), id="wrong-key"),
    pytest.param("sha1=abc", id="unsupported-algorithm"),
])
def test_unsigned_or_badly_signed_hooks_get_401_and_trigger_nothing(
    stack: tuple[Service, HTTPServer, Metrics], signature: str | None,
) -> None:
    service, server, metrics = stack
    body, headers = github("ghcr.io/org/app:1.2.3")
    del headers["X-Hub-Signature-256"]
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature

    answer = httpx.post(url(server, "github"), content=body, headers=headers)

    assert answer.status_code == 401
    assert queued(service) == []
    assert metrics.webhooks.labels("flux-system/github", "401")._value.get() == 1


def test_a_replayed_delivery_is_refused(stack: tuple[Service, HTTPServer, Metrics]) -> None:
    _service, server, _ = stack
    body, headers = github("ghcr.io/org/app:1.2.3", delivery="same")

    first = httpx.post(url(server, "github"), content=body, headers=headers)
    again = httpx.post(url(server, "github"), content=body, headers=headers)

    assert (first.status_code, again.status_code) == (202, 409)


def test_a_payload_older_than_the_replay_window_is_refused(stack: tuple[Service, HTTPServer, Metrics]) -> None:
    service, server, _ = stack
    stale = json.dumps({"push_data": {"tag": "1.0", "pushed_at": time.time() - 3600},
                        "repository": {"repo_name": "org/app"}}).encode()

    answer = httpx.post(url(server, "dockerhub"), content=stale)

    assert answer.status_code == 409
    assert queued(service) == []


def test_a_burst_of_hooks_for_one_image_coalesces_into_one_scan(
    stack: tuple[Service, HTTPServer, Metrics],
) -> None:
    service, server, _ = stack
    answers = []
    for n in range(10):
        body, headers = github(f"ghcr.io/org/app:1.0.{n}", delivery=f"d-{n}")
        answers.append(httpx.post(url(server, "github"), content=body, headers=headers).json())

    assert all(a["repositories"] == ["flux-system/gh"] for a in answers)
    assert [a["queued"] for a in answers] == [["flux-system/gh"]] + [[]] * 9
    assert queued(service) == ["hook:flux-system/gh"]


def test_an_oversized_body_is_refused_before_it_is_read(stack: tuple[Service, HTTPServer, Metrics]) -> None:
    service, server, _ = stack
    body = json.dumps({"image": "ghcr.io/org/app", "padding": "x" * 5000}).encode()

    answer = httpx.post(url(server, "generic"), content=body, headers={"Authorization": f"Bearer {TOKEN}"})

    assert answer.status_code == 413
    assert queued(service) == []


@pytest.mark.parametrize(("receiver", "body", "headers", "expected"), [
    pytest.param("dockerhub", {"push_data": {"tag": "1.0"}, "repository": {"repo_name": "org/app"}}, {},
                 ["flux-system/hub"], id="dockerhub"),
    pytest.param("harbor", {"type": "PUSH_ARTIFACT", "event_data": {"resources": [
        {"tag": "v1", "resource_url": "harbor.example.com/library/app:v1"}]}},
                 {"Authorization": TOKEN}, ["flux-system/harbor"], id="harbor"),
    pytest.param("quay", {"docker_url": "quay.io/org/app", "updated_tags": ["latest"]}, {},
                 ["flux-system/quay"], id="quay"),
    pytest.param("generic", {"image": "docker.io/org/app:2.0"}, {"Authorization": f"Bearer {TOKEN}"},
                 ["flux-system/hub"], id="generic-bearer-names-one-image"),
    pytest.param("generic", {}, {"Authorization": f"Bearer {TOKEN}"},
                 ["flux-system/app", "flux-system/gh", "flux-system/harbor", "flux-system/hub",
                  "flux-system/quay", "flux-system/web"], id="generic-without-image-scans-all-listed"),
    pytest.param("generic-hmac", {"image": "127.0.0.1:1/org/app"}, "sign", ["flux-system/app"],
                 id="generic-hmac"),
])
def test_each_registry_s_payload_names_its_repository(
    stack: tuple[Service, HTTPServer, Metrics], receiver: str, body: dict[str, object],
    headers: dict[str, str] | str, expected: list[str],
) -> None:
    _service, server, _ = stack
    content = json.dumps(body).encode()
    sent = {"X-Signature": sign(content)} if headers == "sign" else headers

    answer = httpx.post(url(server, receiver), content=content, headers=sent)

    assert answer.status_code == 202, answer.text
    assert answer.json()["repositories"] == expected


@pytest.mark.parametrize(("receiver", "headers"), [
    pytest.param("harbor", {}, id="harbor-without-token"),
    pytest.param("generic", {"Authorization": "Bearer nope"}, id="generic-wrong-token"),
    pytest.param("generic-hmac", {"X-Signature": "sha256=00"}, id="generic-hmac-bad-signature"),
])
def test_token_and_hmac_receivers_refuse_wrong_credentials(
    stack: tuple[Service, HTTPServer, Metrics], receiver: str, headers: dict[str, str],
) -> None:
    service, server, _ = stack

    answer = httpx.post(url(server, receiver), content=b'{"image": "ghcr.io/org/app"}', headers=headers)

    assert answer.status_code == 401
    assert queued(service) == []


def test_an_unknown_hook_path_is_404(stack: tuple[Service, HTTPServer, Metrics]) -> None:
    _, server, _ = stack

    answer = httpx.post(f"http://127.0.0.1:{server.port}/hook/{'0' * 64}", content=b"{}")

    assert answer.status_code == 404


def test_replay_guard_forgets_deliveries_after_the_window() -> None:
    now = [1000.0]
    guard = ReplayGuard(60, clock=lambda: now[0])
    hook = Receiver(ObjectKey("ns", "r"), "quay", "s", (EventSource("ImageRepository", "*", "ns"),))

    guard.check(hook, {}, b"{}")
    with pytest.raises(Rejected, match="replay"):
        guard.check(hook, {}, b"{}")
    now[0] += 61
    guard.check(hook, {}, b"{}")
