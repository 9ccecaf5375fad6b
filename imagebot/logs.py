"""Logging set-up for the CLI and the scheduler: one context manager, no import-time side effects.

Library code logs to ``imagebot.<stage>`` loggers; only this module configures handlers. On a
terminal lines are short and human; otherwise (cron, CI, containers) each line is one JSON object
so log collectors can parse it.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import sys
from collections.abc import Iterator
from typing import Literal, TextIO

__all__ = ["LogFormat", "logging_handler"]

LogFormat = Literal["auto", "text", "json"]


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


@contextlib.contextmanager
def logging_handler(
    verbosity: int = 0, *, fmt: LogFormat = "auto", stream: TextIO | None = None
) -> Iterator[None]:
    """Route ``imagebot.*`` records to ``stream`` (stderr) for the duration of the block.

    ``verbosity``: -1 errors only, 0 warnings, 1 info, 2 debug.
    """
    stream = stream if stream is not None else sys.stderr
    if fmt == "auto":
        fmt = "text" if stream.isatty() else "json"
    handler = logging.StreamHandler(stream)
    text = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    handler.setFormatter(_JSONFormatter() if fmt == "json" else text)
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logger = logging.getLogger("imagebot")
    previous = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous[0])
        logger.propagate = previous[1]
