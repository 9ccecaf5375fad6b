"""Logging set-up for the CLI and the scheduler: one context manager, no import-time side effects.

Library code logs to ``imagebot.<stage>`` loggers; only this module configures handlers. On a
terminal lines are short and human; otherwise (cron, CI, containers) each line is one JSON object
so log collectors can parse it — log records and the commands' own stderr lines alike
(:func:`stderr_lines`): one format per stream.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from typing import Literal, TextIO

__all__ = ["JSONLines", "LogFormat", "logging_handler", "resolve", "stderr_lines"]

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


def resolve(fmt: LogFormat, stream: TextIO) -> Literal["text", "json"]:
    """``auto`` → text on a terminal, JSON otherwise."""
    if fmt == "auto":
        return "text" if stream.isatty() else "json"
    return fmt


_ERROR_LINE = re.compile(r"imagebot: (?:[\w ]+ )?error\b")


class JSONLines(io.TextIOBase):
    """A text stream that writes each line given to it as one JSON object, as log records are.

    The commands print summaries and errors to stderr (``imagebot: 2 of 5 repositories failed``);
    with JSON logs those lines are wrapped the same way (logger ``imagebot.cli``; level ``error``
    for ``imagebot: … error: …`` lines, ``info`` otherwise), so a collector reads one format.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._pending = ""

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._emit(self._pending)
            self._pending = ""
        self._stream.flush()

    def _emit(self, line: str) -> None:
        line = line.rstrip("\r")
        if not line.strip():
            return
        entry = {
            "time": datetime.datetime.now(datetime.UTC).isoformat(),
            "level": "error" if _ERROR_LINE.match(line) else "info",
            "logger": "imagebot.cli",
            "message": line,
        }
        self._stream.write(json.dumps(entry, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def stderr_lines(fmt: LogFormat) -> Iterator[None]:
    """While the block runs, plain lines printed to stderr follow ``fmt`` (JSON objects when JSON)."""
    if resolve(fmt, sys.stderr) != "json":
        yield
        return
    original = sys.stderr
    wrapped = JSONLines(original)
    sys.stderr = wrapped
    try:
        yield
    finally:
        wrapped.flush()
        sys.stderr = original


@contextlib.contextmanager
def logging_handler(
    verbosity: int = 0, *, fmt: LogFormat = "auto", stream: TextIO | None = None
) -> Iterator[None]:
    """Route ``imagebot.*`` records to ``stream`` (stderr) for the duration of the block.

    ``verbosity``: -1 errors only, 0 warnings, 1 info, 2 debug.
    """
    stream = stream if stream is not None else sys.stderr
    fmt = resolve(fmt, stream)
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
