"""List the tags of every ImageRepository in the configuration."""

from __future__ import annotations

import argparse

NAME = "scan"
HELP = "list tags and digests of every ImageRepository"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="policies", help="policies directory or file")


def run(args: argparse.Namespace) -> int:
    return 0
