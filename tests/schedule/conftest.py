"""A policies/ directory for scheduler tests (no servers: the scheduler is started paused)."""

from __future__ import annotations

from pathlib import Path

import pytest


def repository(name: str, image: str, interval: str = "1m", *, suspend: bool = False) -> str:
    return f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: {name}, namespace: flux-system}}
spec: {{image: {image}, interval: {interval}, suspend: {str(suspend).lower()}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: {name}, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: {name}}}
  policy: {{semver: {{range: '>=1.0.0'}}}}
"""


def automation(name: str, interval: str = "2m", *, suspend: bool = False, url: str = "file:///nowhere") -> str:
    return f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: {name}, namespace: flux-system}}
spec: {{url: '{url}', ref: {{branch: main}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: {name}, namespace: flux-system}}
spec:
  interval: {interval}
  suspend: {str(suspend).lower()}
  sourceRef: {{kind: GitRepository, name: {name}}}
  git:
    commit:
      author: {{name: imagebot, email: bot@example.com}}
    push: {{branch: main}}
  update: {{path: ./apps, strategy: Setters}}
"""


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir()
    (directory / "repos.yaml").write_text(
        repository("app", "127.0.0.1:1/org/app", "1m") + "---\n"
        + repository("web", "127.0.0.1:1/org/web", "30s") + "---\n"
        + repository("old", "127.0.0.1:1/org/old", "1m", suspend=True)
    )
    (directory / "automations.yaml").write_text(
        automation("apps", "2m") + "---\n" + automation("paused", "1m", suspend=True)
    )
    return directory
