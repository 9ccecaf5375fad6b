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
import json
import sys

from imagebot.commands.run import add_run_options, as_json, execute, print_table


def configure(parser: argparse.ArgumentParser) -> None:
    add_run_options(parser)
    parser.add_argument("--diff", action="store_true", help="also print the diff and the commit message")


def run(args: argparse.Namespace) -> int:
    reports, failures = execute(args, dry_run=True)
    if args.json:
        print(json.dumps({"automations": [as_json(r) for r in reports], "failures": failures}, indent=2))
    for report in [] if args.json else reports:
        print_table(report)
        fields = sum(len(f.changes) for f in report.changes.files)
        print(f"  {fields} field{'s' * (fields != 1)} would change" if fields else "  nothing to change")
        if args.diff and report.diff:
            print()
            print(report.diff, end="")
            print(f"\n--- commit message ---\n{report.message}\n")
    for failure in failures:
        print(f"imagebot: {failure}", file=sys.stderr)
    return 1 if failures or any(r.changes.errors for r in reports) else 0
