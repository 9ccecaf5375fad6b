"""Flux objects as YAML text, for the configurations tests and benchmarks write.

Each function returns whole documents (no leading or trailing ``---``); join them with
``"---\\n".join(...)``. Every object sits in ``flux-system`` unless a ``namespace`` is given;
images are chosen by semver from ``1.0.0`` on; automations commit as ``imagebot`` and push to
``main``. ``fleet(url)`` is the sync loop tests' source: GitRepository ``fleet`` and an
ImageUpdateAutomation ``fleet`` over ``./apps`` (suspended unless asked);
``marked_deployment`` is the file such an automation updates. Used by ``tests/integration``
(run, run_session, run_parses, serve, shard), ``tests/schedule``, ``tests/faults``,
``tests/hostile``, :mod:`testing.gitops` and ``benchmarks/serve.py``/``soak.py``.
"""

from __future__ import annotations

__all__ = ["automation", "fleet", "git_repository", "image_policy", "marked_deployment"]


def git_repository(name: str, url: str) -> str:
    """A GitRepository following ``main`` of ``url``."""
    return f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: {name}, namespace: flux-system}}
spec: {{url: '{url}', ref: {{branch: main}}}}
"""


def image_policy(name: str, image: str, *, interval: str = "5m", insecure: bool = False,
                 namespace: str = "flux-system") -> str:
    """An ImageRepository ``name`` scanning ``image`` and an ImagePolicy ``name`` on it."""
    plain_http = ", insecure: true" if insecure else ""
    return f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: {name}, namespace: {namespace}}}
spec: {{image: {image}, interval: {interval}{plain_http}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  imageRepositoryRef: {{name: {name}}}
  policy: {{semver: {{range: '>=1.0.0'}}}}
"""


def automation(name: str, *, path: str = "./apps", interval: str = "5m", message_template: str | None = None,
               namespace: str = "flux-system") -> str:
    """An ImageUpdateAutomation ``name`` of GitRepository ``gitops``, setting markers under ``path``."""
    template = f"\n      messageTemplate: '{message_template}'" if message_template is not None else ""
    return f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  interval: {interval}
  sourceRef: {{kind: GitRepository, name: gitops}}
  git:
    commit:
      author: {{name: imagebot, email: bot@example.com}}{template}
    push: {{branch: main}}
  update: {{path: {path}, strategy: Setters}}
"""


def fleet(url: str, *, suspend: bool = True) -> str:
    """GitRepository ``fleet`` of ``url`` and ImageUpdateAutomation ``fleet`` over ``./apps``."""
    suspended = "\n  suspend: true" if suspend else ""
    return git_repository("fleet", url) + f"""\
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: fleet, namespace: flux-system}}
spec:{suspended}
  sourceRef: {{kind: GitRepository, name: fleet}}
  git: {{commit: {{author: {{name: bot, email: bot@example.com}}}}, push: {{branch: main}}}}
  update: {{path: ./apps}}
"""


def marked_deployment(name: str, image: str, *, namespace: str) -> str:
    """A Deployment ``name`` running ``image:1.0.0``, the tag marked for ImagePolicy
    ``namespace:name`` (the file an automation updates)."""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  template:
    spec:
      containers:
        - name: {name}
          image: {image}:1.0.0 # {{"$imagepolicy": "{namespace}:{name}"}}
"""
