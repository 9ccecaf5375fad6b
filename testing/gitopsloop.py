"""The seed document's GitOps layout as files, for the loop's end-to-end test, demo and benchmark.

``files(image)`` is the repository: ``apps/web/base`` (a Deployment of ``image:1.0.0``, 2
replicas) and ``apps/web/overlays/dev|staging|prod`` (kustomize overlays whose ``images[].newTag``
carries the marker of ImagePolicy ``flux-system/web-<env>``). ``policies(image, url, suffix=…)``
is imagebot's configuration: one ApplicationSet generating ``argocd/web-<suffix>-<env>`` (each in
namespace ``web-<suffix>-<env>``, created on sync), one ImageRepository, and per environment a
semver ImagePolicy and an ImageUpdateAutomation committing to ``main`` — staging gated on dev and
prod on staging with ``imagebot.dev/promote-after``; prod through a pull request when a forge URL
is given; a ``generic-hmac`` Receiver when a webhook secret name is given. Used by
``tests/integration/test_gitops_loop.py``, ``scripts/demo.py`` and ``benchmarks/loop.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ENVS", "files", "policies"]

ENVS: tuple[str, ...] = ("dev", "staging", "prod")


def files(image: str, envs: Sequence[str] = ENVS, *, tag: str = "1.0.0") -> dict[str, str]:
    """The GitOps repository's files: the base and one overlay per environment at ``tag``."""
    return {
        "apps/web/base/kustomization.yaml": "resources: [deployment.yaml]\n",
        "apps/web/base/deployment.yaml": f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: web
          image: {image}:{tag}
          ports: [{{containerPort: 8080}}]
""",
        **{f"apps/web/overlays/{env}/kustomization.yaml": f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
images:
  - name: {image}
    newTag: {tag} # {{"$imagepolicy": "flux-system:web-{env}:tag"}}
""" for env in envs},
    }


def policies(image: str, url: str, *, suffix: str, envs: Sequence[str] = ENVS, forge: str | None = None,
             hook_secret: str | None = None, interval: str = "1h") -> str:
    """imagebot's configuration for the layout of :func:`files` (one YAML stream)."""
    elements = ", ".join(f"{{env: {env}}}" for env in envs)
    documents = [f"""\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: web-{suffix}, namespace: argocd}}
spec:
  generators:
    - list:
        elements: [{elements}]
  template:
    metadata: {{name: 'web-{suffix}-{{{{env}}}}'}}
    spec:
      project: default
      source: {{repoURL: '{url}', targetRevision: main, path: 'apps/web/overlays/{{{{env}}}}'}}
      destination: {{server: https://kubernetes.default.svc, namespace: 'web-{suffix}-{{{{env}}}}'}}
      syncPolicy:
        automated: {{prune: true, selfHeal: true}}
        syncOptions: [CreateNamespace=true]
""", f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: web, namespace: flux-system}}
spec: {{image: {image}, interval: {interval}}}
""", f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: gitops, namespace: flux-system}}
spec: {{url: '{url}', ref: {{branch: main}}}}
"""]
    if forge is not None:
        documents.append(f"""\
apiVersion: imagebot.dev/v1alpha1
kind: PullRequest
metadata: {{name: web-prod, namespace: flux-system}}
spec:
  labels: [promotion]
  forge: {{apiURL: '{forge}', repository: org/gitops}}
""")
    if hook_secret is not None:
        documents.append(f"""\
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {{name: registry, namespace: flux-system}}
spec:
  type: generic-hmac
  secretRef: {{name: {hook_secret}}}
  resources: [{{kind: ImageRepository, name: '*'}}]
""")
    previous = {"staging": "dev", "prod": "staging"}
    for env in envs:
        before = previous.get(env)
        gate = (f", annotations: {{imagebot.dev/promote-after: argocd/web-{suffix}-{before}}}"
                if before in envs else "")
        documents.append(f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: web-{env}, namespace: flux-system, labels: {{env: {env}}}}}
spec:
  imageRepositoryRef: {{name: web}}
  policy: {{semver: {{range: '>=1.0.0'}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: web-{env}, namespace: flux-system{gate}}}
spec:
  interval: {interval}
  sourceRef: {{kind: GitRepository, name: gitops}}
  policySelector: {{matchLabels: {{env: {env}}}}}
  git:
    commit:
      author: {{name: imagebot, email: bot@example.com}}
    push: {{branch: main}}
  update: {{path: ./apps/web/overlays/{env}, strategy: Setters}}
""")
    return "---\n".join(documents)
