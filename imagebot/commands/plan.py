"""Show what 'imagebot run' would do, touching nothing: per policy, current → selected and why.

Scans the registries, evaluates every ImagePolicy of each ImageUpdateAutomation against the
marked fields of its repository, and prints a table; --diff adds the exact file changes and the
commit message. Same options as 'imagebot run'.

examples:
  imagebot plan
  imagebot plan --automation flux-system/prod --diff
"""

from __future__ import annotations

import argparse

from imagebot.commands.run import add_run_options, execute, show


def configure(parser: argparse.ArgumentParser) -> None:
    add_run_options(parser)
    parser.add_argument("--diff", action="store_true", help="also print the diff and the commit message")


def run(args: argparse.Namespace) -> int:
    reports, failures = execute(args, dry_run=True)
    return show(reports, failures, as_json_output=args.json, dry_run=True, diff=args.diff)
