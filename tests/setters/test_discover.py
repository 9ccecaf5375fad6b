"""``setters.find_markers`` (the ``markers`` command): markers with their current values, and
unmarked image references with the marker line that would mark them."""

from __future__ import annotations

from pathlib import Path

from imagebot import setters
from imagebot.model.changes import ObjectId
from imagebot.model.ids import ObjectKey

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  containers:
    - image: ghcr.io/org/web:1.0 # {"$imagepolicy": "flux-system:web"}
    - image: nginx:1.25   # pinned
    - image: ${SIDECAR_IMAGE}
"""
VALUES = """image:
  repository: ghcr.io/stefanprodan/podinfo
  tag: 6.0.0
db:
  image:
    registry: docker.io
    repository: bitnami/postgresql
    tag: "16.1"
"""
KUSTOMIZATION = """images:
  - name: app
    newName: ghcr.io/org/app
    newTag: v1
"""


def test_markers_and_unmarked_references(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(DEPLOYMENT)
    (tmp_path / "values.yaml").write_text(VALUES)
    (tmp_path / "kustomization.yaml").write_text(KUSTOMIZATION)
    report = setters.find_markers(
        root=tmp_path, policies={ObjectKey("apps", "podinfo"): "ghcr.io/stefanprodan/podinfo"}
    )
    (marker,) = report.markers
    assert (marker.path, marker.line, marker.setter, marker.field, marker.value) == (
        "deploy.yaml", 7, "flux-system:web", "ref", "ghcr.io/org/web:1.0",
    )
    assert marker.object == ObjectId("apps/v1", "Deployment", "", "web")
    assert [(u.path, u.line, u.key, u.setter, u.suggestion) for u in report.unmarked] == [
        ("deploy.yaml", 8, "image", "flux-system:nginx",
         '    - image: nginx:1.25 # {"$imagepolicy": "flux-system:nginx"}'),
        ("kustomization.yaml", 3, "newName", "flux-system:app:name",
         '    newName: ghcr.io/org/app # {"$imagepolicy": "flux-system:app:name"}'),
        ("kustomization.yaml", 4, "newTag", "flux-system:app:tag",
         '    newTag: v1 # {"$imagepolicy": "flux-system:app:tag"}'),
        ("values.yaml", 2, "repository", "apps:podinfo:name",
         '  repository: ghcr.io/stefanprodan/podinfo # {"$imagepolicy": "apps:podinfo:name"}'),
        ("values.yaml", 3, "tag", "apps:podinfo:tag",
         '  tag: 6.0.0 # {"$imagepolicy": "apps:podinfo:tag"}'),
        # a separate registry cannot be set (:name carries it), so only the tag is suggested
        ("values.yaml", 8, "tag", "flux-system:postgresql:tag",
         '    tag: "16.1" # {"$imagepolicy": "flux-system:postgresql:tag"}'),
    ]
    assert report.errors == ()


def test_problems_are_listed_not_raised(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("a: [\n")
    (tmp_path / "odd.yaml").write_text('a: 1 # {"$imagepolicy": "ns:p:bogus"}\n')
    report = setters.find_markers(root=tmp_path, namespace="apps")
    assert [(e.path, e.line) for e in report.errors] == [("bad.yaml", 2)]
    assert [(w.path, w.line) for w in report.warnings] == [("odd.yaml", 1)]
