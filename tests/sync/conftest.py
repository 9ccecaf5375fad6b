"""Fixtures for sync tests: the stdlib API emulator and a helper that syncs a manifests tree."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imagebot import sync
from imagebot.model.cluster import SyncResult
from testing.kubeapi import ApiError, KubeEmulator
from tests.sync.units import unit, write_tree


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[KubeEmulator]:
    with KubeEmulator(tmp_path) as api:
        yield api


@dataclasses.dataclass
class Syncer:
    """Write manifests under ``root/app`` and sync them as one Application to ``kubeconfig``."""

    root: Path
    kubeconfig: Path
    sleeps: list[float] = dataclasses.field(default_factory=list)
    on_sleep: Any = None

    def write(self, files: dict[str, str]) -> None:
        write_tree(self.root, files)

    def remove(self, name: str) -> None:
        (self.root / name).unlink()

    def cluster(self) -> sync.KubernetesCluster:
        return sync.connect(self.kubeconfig)

    def render(self, **fields: Any) -> sync.Render:
        fields.setdefault("namespace", "shop")
        return sync.render(unit("app", **fields), self.root)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep()

    def sync(self, *, run: dict[str, Any] | None = None, **fields: Any) -> SyncResult:
        cluster = self.cluster()
        try:
            opts = sync.SyncOptions(sleep=self.sleep, poll=0.0, **(run or {}))
            return sync.sync_unit(self.render(**fields), "rev1", cluster, opts)
        finally:
            cluster.close()

    def status(self, **fields: Any) -> Any:
        cluster = self.cluster()
        try:
            return sync.status(self.render(**fields), "rev1", cluster)
        finally:
            cluster.close()


@pytest.fixture
def syncer(tmp_path: Path, emulator: KubeEmulator) -> Syncer:
    (tmp_path / "repo/app").mkdir(parents=True)
    return Syncer(tmp_path / "repo", emulator.kubeconfig)


def actions(result: SyncResult) -> list[tuple[str, str]]:
    return [(o.action, str(o.ref)) for o in result.outcomes]


def exists(emulator: KubeEmulator, path: str) -> bool:
    """Whether the emulator holds the object at ``path``."""
    try:
        emulator.get(path)
    except ApiError as exc:
        if exc.code != 404:
            raise
        return False
    return True
