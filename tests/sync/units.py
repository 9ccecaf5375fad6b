"""Builders for sync tests: a SyncUnit and a manifests tree in a temporary directory."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

from imagebot.model.ids import ObjectKey
from imagebot.sync import SyncUnit
from imagebot.sync._units import git_ref


def unit(path: str = "app", *, name: str = "web", app_namespace: str = "argocd", **fields: Any) -> SyncUnit:
    base = SyncUnit(kind="Application", key=ObjectKey(app_namespace, name), repo_url="https://git.example/fleet",
                    ref=git_ref("HEAD"), path=path, source_file="policies/apps.yaml")
    return dataclasses.replace(base, **fields)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def deployment(name: str, image: str, *, namespace: str | None = None, annotations: str = "") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    extra = f"\n  annotations: {annotations}" if annotations else ""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}{ns}{extra}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: main
          image: {image}
"""


def configmap(name: str, data: str = "{a: '1'}", *, annotations: str = "") -> str:
    extra = f"\n  annotations: {annotations}" if annotations else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{extra}\ndata: {data}\n"


def job(name: str, hook: str, *, policy: str = "", mode: str = "", wave: int | None = None,
        generate: bool = False) -> str:
    annotations = {"argocd.argoproj.io/hook": hook}
    if policy:
        annotations["argocd.argoproj.io/hook-delete-policy"] = policy
    if wave is not None:
        annotations["argocd.argoproj.io/sync-wave"] = str(wave)
    meta = "{" + ", ".join(f"{k}: '{v}'" for k, v in annotations.items()) + "}"
    pod_meta = f"\n    metadata: {{annotations: {{kubelet.testing.imagebot.dev/mode: {mode}}}}}" if mode else ""
    name_line = f"generateName: {name}-" if generate else f"name: {name}"
    return f"""\
apiVersion: batch/v1
kind: Job
metadata:
  {name_line}
  annotations: {meta}
spec:
  backoffLimit: 0
  template:{pod_meta}
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: registry.example/tools:1}}]
"""
