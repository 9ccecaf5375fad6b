"""Argo CD objects imagebot reads from ``policies/`` (used by the sync stage).

Produced by :mod:`imagebot.config`; consumed by :mod:`imagebot.sync`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from imagebot.model.ids import ObjectKey

__all__ = ["Application", "ApplicationSet", "ApplicationSource", "SyncPolicy"]


@dataclasses.dataclass(frozen=True, slots=True)
class ApplicationSource:
    repo_url: str
    path: str = "."
    target_revision: str = "HEAD"


@dataclasses.dataclass(frozen=True, slots=True)
class SyncPolicy:
    automated: bool = False
    prune: bool = False
    self_heal: bool = False
    options: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Application:
    key: ObjectKey
    source: ApplicationSource
    destination_server: str = "https://kubernetes.default.svc"
    destination_namespace: str | None = None
    project: str = "default"
    sync_policy: SyncPolicy = SyncPolicy()
    source_file: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class ApplicationSet:
    """An ApplicationSet with ``list`` generators; the template keeps ``{{placeholders}}``."""

    key: ObjectKey
    elements: tuple[Mapping[str, str], ...]
    template: Application
    template_name: str
    source_file: str = ""
