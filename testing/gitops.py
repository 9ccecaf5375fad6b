"""A minimal GitOps set-up for end-to-end tests of ``imagebot run`` and its runtimes.

``write_policies(dir, image=..., automations={"apps": url})`` writes one ImageRepository, one
semver ImagePolicy ``flux-system/app`` and, per entry, a GitRepository and an
ImageUpdateAutomation pushing to ``main``; ``MANIFEST`` is the marked file (``apps/app.yaml``)
those automations update. Used by ``tests/integration/test_run_outcomes.py``,
``tests/integration/test_home.py`` and ``tests/integration/test_action.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from testing import fluxyaml

__all__ = ["MANIFEST", "manifest", "write_policies"]

MANIFEST = 'image: {image}:{tag} # {{"$imagepolicy": "flux-system:app"}}\n'


def manifest(image: str, tag: str = "1.0.0") -> str:
    return MANIFEST.format(image=image, tag=tag)


def write_policies(directory: Path, *, image: str, automations: Mapping[str, str], extra: str = "") -> Path:
    """``automations``: ImageUpdateAutomation name → its GitRepository URL."""
    directory.mkdir(parents=True, exist_ok=True)
    documents = [fluxyaml.image_policy("app", image)]
    for name, url in automations.items():
        documents.append(f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: {name}, namespace: flux-system}}
spec:
  url: {url}
  ref: {{branch: main}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: {name}, namespace: flux-system}}
spec:
  sourceRef: {{kind: GitRepository, name: {name}}}
  git:
    commit:
      author: {{name: imagebot, email: bot@example.com}}
    push: {{branch: main}}
  update: {{path: ./apps, strategy: Setters}}
""")
    if extra:
        documents.append(extra)
    (directory / "all.yaml").write_text("---\n".join(documents))
    return directory
