"""``imagebot serve`` end to end: a real registry whose tags change while the service runs, a real
git remote, the scheduler on its real clock with one-second scan intervals.

Aspects: each new tag becomes exactly one commit on the remote (none duplicated, none missed at
the end); ``imagebot status`` shows the last scan, selection and commit; SIGTERM ends the process
cleanly within the grace period.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imagebot import cli
from imagebot.schedule import ServeSettings, Service
from imagebot.state import StateStore
from testing.gitrepos import git, git_env, make_bare
from testing.registry import RegistryServer

pytestmark = pytest.mark.integration

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app}}
spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}:1.0.0 # {{"$imagepolicy": "flux-system:app"}}
"""


def write_policies(directory: Path, *, image: str, url: str, interval: str = "1s") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "all.yaml").write_text(f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: app, namespace: flux-system}}
spec: {{image: {image}, interval: {interval}, insecure: true}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: app, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: app}}
  policy: {{semver: {{range: '>=1.0.0'}}}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: gitops, namespace: flux-system}}
spec: {{url: '{url}', ref: {{branch: main}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: apps, namespace: flux-system}}
spec:
  interval: 10m
  sourceRef: {{kind: GitRepository, name: gitops}}
  git:
    commit:
      author: {{name: imagebot, email: bot@example.com}}
      messageTemplate: 'update {{{{range .Changed.Changes}}}}{{{{.NewValue}}}}{{{{end}}}}'
    push: {{branch: main}}
  update: {{path: ./apps, strategy: Setters}}
""")
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
    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": MANIFEST.format(image=image)}, env=genv)
    config = write_policies(tmp_path / "policies", image=image, url=f"file://{bare}")
    return name, image, bare, config


@pytest.fixture
def service(setup: tuple[str, str, Path, Path], tmp_path: Path) -> Iterator[Service]:
    _, _, _, config = setup
    service = Service(ServeSettings(config_path=config, state_path=tmp_path / "state.db",
                                    workdir=tmp_path / "work", watch=0, grace=30))
    service.start()
    yield service
    service.stop()


def test_tags_pushed_while_serving_become_one_commit_each(
    setup: tuple[str, str, Path, Path], service: Service, registry_anonymous: RegistryServer,
    genv: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    name, image, bare, _ = setup
    for tag in ("1.1.0", "1.2.0", "1.3.0"):
        registry_anonymous.push_tags(name, [tag])
        wait_for(lambda tag=tag: subjects(bare, genv)[0] == f"update {image}:{tag}")  # type: ignore[misc]

    assert service.stop() is True
    assert subjects(bare, genv) == [f"update {image}:{t}" for t in ("1.3.0", "1.2.0", "1.1.0")] + ["initial"]
    code = cli.main(["status", "--json", "--state", str(tmp_path / "state.db")])
    status = json.loads(capsys.readouterr().out)
    assert code == 0
    assert status["repositories"][0]["tags"] == 4
    assert status["policies"][0]["latest"] == "1.3.0"
    head = git("rev-parse", "main", cwd=bare, env=genv)
    assert status["automations"][0]["lastCommit"] == f"main@{head[:12]}"


def test_sigterm_stops_the_process_cleanly(setup: tuple[str, str, Path, Path], tmp_path: Path,
                                           genv: dict[str, str]) -> None:
    """The service has run its automation once (and may be running it again) when SIGTERM comes."""
    _, _, _, config = setup
    process = subprocess.Popen(
        [sys.executable, "-m", "imagebot", "--log-format", "text", "-v", "serve", "--config", str(config),
         "--state", str(tmp_path / "state.db"), "--workdir", str(tmp_path / "work"), "--grace", "20"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, **genv},
    )
    try:
        wait_for(lambda: scanned(tmp_path / "state.db") or process.poll() is not None)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "received SIGTERM: stopping" in err
    assert "imagebot serve stopped" in err
