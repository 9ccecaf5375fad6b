"""``--shard INDEX/COUNT`` for ``run``, ``plan`` and ``serve`` (a shared option, not a command).

Splits the ImageUpdateAutomations deterministically (``pipeline.shard_of``) so that N processes —
a Kubernetes Indexed Job, a GitHub Actions matrix — share the work with no coordination.
"""

from __future__ import annotations

import argparse

from imagebot import config


def add_shard_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shard", metavar="INDEX/COUNT",
        help=f"work only on this share of the ImageUpdateAutomations, e.g. 0/3 (default: "
             f"${config.SHARD_INDEX_VARIABLE}/${config.SHARD_COUNT_VARIABLE} when both are set, "
             "else everything)",
    )


def shard_from(args: argparse.Namespace) -> tuple[int, int] | None:
    """The shard the flag (or else the environment) asks for; ``None``: all of the work."""
    if getattr(args, "shard", None):
        return config.parse_shard(args.shard)
    return config.shard_from_environment()
