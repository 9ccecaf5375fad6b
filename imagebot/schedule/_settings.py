"""What ``imagebot serve`` was started with (:class:`ServeSettings`, built from its flags by
:mod:`imagebot.commands.serve`) and the intervals of jobs whose objects name none.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from pathlib import Path

from imagebot import config, sync

__all__ = ["DEFAULT_APPSET_INTERVAL", "DEFAULT_AUTOMATION_INTERVAL", "ServeSettings"]

DEFAULT_AUTOMATION_INTERVAL = datetime.timedelta(minutes=5)
DEFAULT_APPSET_INTERVAL = datetime.timedelta(minutes=3)
"""How often each ApplicationSet generates again (Argo CD's ApplicationSet controller requeues
every 3 minutes)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ServeSettings:
    """What ``imagebot serve`` was started with (its flags)."""

    config_path: Path
    secrets_dir: Path = config.DEFAULT_SECRETS_DIR
    state_path: Path = Path("state.db")
    workdir: Path | None = None
    """Where clones are kept (default: ``.imagebot/git/<repository>``)."""
    workers: int = 4
    """Jobs running at once (scans and automations)."""
    grace: float = 30.0
    """Seconds a stop waits for running jobs before abandoning them."""
    debounce: float = 0.25
    """Webhooks for one repository within this many seconds trigger one scan."""
    watch: float = 5.0
    """How often (seconds) the configuration directory is checked for changes; 0: never."""
    mirrors: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    shard: tuple[int, int] | None = None
    """``(index, count)``: run only this shard's automations (``pipeline.shard_of``)."""
    kubeconfig: Path | None = None
    """The cluster the sync loop applies to; None: no sync loop (Applications are not synced)."""
    context: str | None = None
    """A kubeconfig context for every unit (default: from each destination)."""
    sync_options: sync.SyncOptions = dataclasses.field(default_factory=sync.SyncOptions)
    """How the loop's syncs wait for waves (``wave_timeout``, ``poll``; tests shorten them)."""
    appset_interval: datetime.timedelta = DEFAULT_APPSET_INTERVAL
    """How often each ApplicationSet's generators run again (default 3 min, Argo CD's requeue)."""
