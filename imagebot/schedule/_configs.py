"""The configuration as ``serve`` runs it: loaded with the service's mirrors and every policy
checked (:func:`load`), fingerprinted for the watch job (:func:`fingerprint`), and narrowed to this
shard's automations, repositories, units and ApplicationSets. Called by
:class:`~imagebot.schedule._service.Service` on start and on every reload.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, TypeVar

from imagebot import config, pipeline, policy, sync, validation
from imagebot.model import argo, flux
from imagebot.model.ids import ObjectKey

__all__ = ["application_sets", "automations", "fingerprint", "load", "repositories", "sync_units"]

Shard = tuple[int, int] | None
"""``(index, count)`` of a sharded serve; None: it runs everything."""


class _Keyed(Protocol):
    @property
    def key(self) -> ObjectKey: ...


_K = TypeVar("_K", bound=_Keyed)


def _mine(found: list[_K], shard: Shard) -> list[_K]:
    if shard is None:
        return found
    index, count = shard
    return [x for x in found if pipeline.shard_of(x.key, count) == index]


def load(path: Path, *, mirrors: Mapping[str, tuple[str, ...]], shard: Shard, syncs: bool) -> config.Config:
    """The configuration at ``path``; a bad policy, and (``syncs``: with a sync loop) a dependsOn
    cycle or a missing source, is a ``ConfigError`` here too."""
    loaded = validation.load(path)  # the one loader every command uses
    if mirrors:
        registries = dataclasses.replace(loaded.registries, mirrors={**loaded.registries.mirrors, **mirrors})
        loaded = dataclasses.replace(loaded, registries=registries)
    for automation in loaded.automations.values():
        for spec in pipeline.policies_for(loaded, automation):
            policy.validate(spec)  # a bad range or regex is a config error too
    if syncs:
        sync_units(loaded, shard)
    return loaded


def fingerprint(path: Path) -> str:
    """Changes when a YAML file under ``path`` does (name, mtime, size)."""
    digest = hashlib.sha256()
    try:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*")
                                                     if p.suffix in (".yaml", ".yml"))
        for file in files:
            stat = file.stat()
            digest.update(f"{file}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
    except OSError as exc:
        digest.update(str(exc).encode())
    return digest.hexdigest()


def automations(cfg: config.Config, shard: Shard) -> list[flux.ImageUpdateAutomation]:
    return _mine([a for _, a in sorted(cfg.automations.items()) if not a.suspend], shard)


def sync_units(cfg: config.Config, shard: Shard) -> list[sync.SyncUnit]:
    """The Applications written in the configuration and the Kustomizations the loop syncs
    (this shard's, when sharded); ApplicationSets' Applications come from their own jobs."""
    found = sync.units(list(cfg.applications.values()), list(cfg.kustomizations.values()),
                       cfg.git_repositories)
    return _mine(found, shard)


def application_sets(cfg: config.Config, shard: Shard) -> list[argo.ApplicationSet]:
    """This shard's ApplicationSets, by the ApplicationSet's key: its Applications are synced by
    the shard that generates them."""
    return _mine([a for _, a in sorted(cfg.application_sets.items())], shard)


def repositories(cfg: config.Config, shard: Shard) -> list[flux.ImageRepository]:
    """The repositories to scan: not suspended, and (when sharded) used by this shard."""
    found = [r for _, r in sorted(cfg.image_repositories.items()) if not r.suspend]
    if shard is not None:
        wanted = {p.repository for a in automations(cfg, shard) for p in pipeline.policies_for(cfg, a)}
        found = [r for r in found if r.key in wanted]
    return found
