"""Sub-commands of the ``imagebot`` CLI, one module each (as pre-commit's ``commands/``).

Each module exposes ``NAME``, ``HELP``, ``configure(parser)`` and ``run(args) -> int``; its
docstring is the sub-command's ``--help`` description. Add a module here to add a command.
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Protocol

from imagebot.commands import markers, policy, scan
from imagebot.commands import set as set_

__all__ = ["COMMANDS", "Command"]


class Command(Protocol):
    NAME: str
    HELP: str
    __doc__: str | None

    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _command(module: ModuleType) -> Command:
    return module


COMMANDS: tuple[Command, ...] = tuple(_command(m) for m in (scan, set_, markers, policy))
