"""Which shard of the work this process does: ``--shard INDEX/COUNT`` or the environment.

Kubernetes sets ``JOB_COMPLETION_INDEX`` in each pod of an Indexed Job; ``IMAGEBOT_SHARD_COUNT``
says how many there are. Read here because config is imagebot's only reader of the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from imagebot.errors import ConfigError

__all__ = ["SHARD_COUNT_VARIABLE", "SHARD_INDEX_VARIABLE", "parse_shard", "shard_from_environment"]

SHARD_INDEX_VARIABLE = "JOB_COMPLETION_INDEX"
SHARD_COUNT_VARIABLE = "IMAGEBOT_SHARD_COUNT"


def parse_shard(text: str, *, where: str = "--shard") -> tuple[int, int]:
    """``"1/3"`` → ``(1, 3)``; anything else is a :class:`ConfigError` naming ``where``."""
    index, sep, count = text.strip().partition("/")
    if not sep or not index.isdigit() or not count.isdigit():
        raise ConfigError(f"{where} {text!r}: expected INDEX/COUNT, e.g. 0/3")
    shard = int(index), int(count)
    if shard[1] < 1 or shard[0] >= shard[1]:
        raise ConfigError(f"{where} {text!r}: INDEX must be 0 … COUNT-1 and COUNT at least 1")
    return shard


def shard_from_environment(environ: Mapping[str, str] | None = None) -> tuple[int, int] | None:
    """The shard ``$JOB_COMPLETION_INDEX/$IMAGEBOT_SHARD_COUNT`` names, if both are set."""
    environ = os.environ if environ is None else environ
    index, count = environ.get(SHARD_INDEX_VARIABLE), environ.get(SHARD_COUNT_VARIABLE)
    if index is None or count is None:
        return None
    return parse_shard(f"{index}/{count}", where=f"${SHARD_INDEX_VARIABLE}/${SHARD_COUNT_VARIABLE}")
