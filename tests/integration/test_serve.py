"""``imagebot serve`` end to end: a real registry whose tags change while the service runs, a real
git remote, the scheduler on its real clock with one-second scan intervals.

Aspects: each new tag becomes exactly one commit on the remote (none duplicated, none missed at
the end); ``imagebot status`` shows the last scan, selection and commit; SIGTERM ends the process
cleanly within the grace period.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from imagebot import cli
from imagebot import config as config_module
from imagebot.model.ids import ObjectKey
from imagebot.schedule import HTTPServer, Metrics, ServeSettings, Service
from imagebot.state import StateStore
from testing import fluxyaml
from testing.gitrepos import git, git_env, make_bare
from testing.registry import RegistryServer

pytestmark = pytest.mark.integration



def write_policies(directory: Path, *, image: str, url: str, interval: str = "1s") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "all.yaml").write_text("---\n".join([
        fluxyaml.image_policy("app", image, interval=interval, insecure=True),
        fluxyaml.git_repository("gitops", url),
        fluxyaml.automation("apps", interval="10m",
                            message_template="update {{range .Changed.Changes}}{{.NewValue}}{{end}}"),
    ]))
    return directory


def wait_for(condition: Callable[[], bool], *, timeout: float = 60.0) -> None:
    """Poll until ``condition()`` holds (a bounded wait for the service, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def scanned(path: Path) -> bool:
    if not path.exists():
        return False
    with StateStore(path) as store:
        return bool(store.status().automations)


def subjects(bare: Path, env: dict[str, str]) -> list[str]:
    return git("log", "--format=%s", "main", cwd=bare, env=env).splitlines()


@pytest.fixture
def genv(tmp_path: Path) -> dict[str, str]:
    return git_env(tmp_path / "git-home")


@pytest.fixture
def setup(tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str],
          genv: dict[str, str]) -> tuple[str, str, Path, Path]:
    name = repo("org/served")
    registry_anonymous.push_tags(name, ["1.0.0"])
    image = f"{registry_anonymous.host}/{name}"
    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": fluxyaml.marked_deployment("app", image, namespace="flux-system")}, env=genv)
    config = write_policies(tmp_path / "policies", image=image, url=f"file://{bare}")
    return name, image, bare, config


RECEIVER = """\
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: registry, namespace: flux-system}
spec:
  type: generic-hmac
  secretRef: {name: hook}
  resources: [{kind: ImageRepository, name: '*'}]
"""
TOKEN = "hook-token-e2e"


@pytest.fixture
def running(setup: tuple[str, str, Path, Path], tmp_path: Path) -> Iterator[tuple[Service, HTTPServer]]:
    _, _, _, config = setup
    with (config / "all.yaml").open("a") as handle:
        handle.write(RECEIVER)
    (tmp_path / "secrets" / "hook").mkdir(parents=True)
    (tmp_path / "secrets" / "hook" / "token").write_text(TOKEN)
    metrics = Metrics()
    service = Service(ServeSettings(config_path=config, secrets_dir=tmp_path / "secrets",
                                    state_path=tmp_path / "state.db", workdir=tmp_path / "work", watch=0,
                                    grace=30), listeners=[metrics])
    service.start()
    server = HTTPServer(("127.0.0.1", 0), service=service, metrics=metrics,
                        secrets=config_module.SecretStore(tmp_path / "secrets")).start()
    yield service, server
    server.stop()
    service.stop()


def hook(server: HTTPServer, image: str) -> httpx.Response:
    body = json.dumps({"image": image}).encode()
    signature = "sha256=" + hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    path = server.paths()[ObjectKey("flux-system", "registry")]
    return httpx.post(f"http://127.0.0.1:{server.port}{path}", content=body, headers={"X-Signature": signature})


def metric(text: str, metric_name: str, /, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{metric_name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_tags_pushed_while_serving_become_one_commit_each_and_metrics_and_status_show_them(
    setup: tuple[str, str, Path, Path], running: tuple[Service, HTTPServer], registry_anonymous: RegistryServer,
    genv: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Odd tags are found by the 1 s interval scan, even ones announced by a signed webhook."""
    service, server = running
    name, image, bare, _ = setup
    tags = ("1.1.0", "1.2.0", "1.3.0", "1.4.0")
    for n, tag in enumerate(tags):
        registry_anonymous.push_tags(name, [tag])
        if n % 2:
            for _ in range(3):  # a burst: one scan, one commit
                assert hook(server, f"{image}:{tag}").status_code in (202, 409)
        wait_for(lambda tag=tag: subjects(bare, genv)[0] == f"update {image}:{tag}")  # type: ignore[misc]

    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    assert service.stop() is True
    assert subjects(bare, genv) == [f"update {image}:{t}" for t in reversed(tags)] + ["initial"]
    assert metric(text, "imagebot_commits_total", automation="flux-system/apps") == len(tags)
    assert metric(text, "imagebot_tags_seen", repository="flux-system/app") == 1 + len(tags)
    assert metric(text, "imagebot_registry_requests_total", registry=registry_anonymous.host, status="200") > 0
    assert metric(text, "imagebot_webhooks_total", receiver="flux-system/registry", result="accepted") >= 2
    assert metric(text, "imagebot_last_success_timestamp_seconds", kind="automation",
                  name="flux-system/apps") > 0
    code = cli.main(["status", "--json", "--state", str(tmp_path / "state.db")])
    status = json.loads(capsys.readouterr().out)
    assert code == 0
    assert status["repositories"][0]["tags"] == 1 + len(tags)
    assert status["policies"][0]["latest"] == tags[-1]
    head = git("rev-parse", "main", cwd=bare, env=genv)
    assert status["automations"][0]["lastCommit"] == f"main@{head[:12]}"


def test_sighup_with_a_broken_configuration_keeps_serving_and_sigterm_stops_cleanly(
    setup: tuple[str, str, Path, Path], tmp_path: Path, genv: dict[str, str],
) -> None:
    """The service has run its automation once (and may be running it again) when the signals come."""
    _, _, _, config = setup
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "imagebot", "--log-format", "text", "-v", "serve", "--config", str(config),
             "--state", str(tmp_path / "state.db"), "--workdir", str(tmp_path / "work"), "--grace", "20",
             "--listen", "127.0.0.1:0", "--watch", "0"],
            stderr=stderr, env={**os.environ, **genv},
        )
    try:
        wait_for(lambda: scanned(tmp_path / "state.db") or process.poll() is not None)
        (config / "broken.yaml").write_text("kind: [unclosed\n")
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration not reloaded" in log.read_text() or process.poll() is not None)
        assert process.poll() is None, log.read_text()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    err = log.read_text()
    assert process.returncode == 0, err
    assert "broken.yaml" in err
    assert "received SIGTERM: stopping" in err
    assert "imagebot serve stopped" in err
