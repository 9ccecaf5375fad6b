"""Show what imagebot last saw and did, from the state store — no registry, git or cluster needed.

Like 'flux get images all': per ImageRepository the last scan, its tag count and any error; per
ImagePolicy the latest selected tag and what the cooldown holds back (or why nothing is
selected); per ImageUpdateAutomation the last run, the last commit or pull request and when.
'imagebot run' and 'imagebot serve' write these records; --json prints them as one object.

Exit status: 0, or 1 when the last run of something failed.

examples:
  imagebot status
  imagebot status --state /var/lib/imagebot/state.db --json | jq '.automations'
"""

from __future__ import annotations

import argparse
import datetime
import json
from collections.abc import Sequence
from pathlib import Path

from imagebot import state
from imagebot.commands.scan import state_path
from imagebot.errors import ConfigError
from imagebot.model.status import Status


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state", type=Path, default=None, metavar="PATH",
        help="the state store 'run' or 'serve' wrote (default: $IMAGEBOT_HOME/state.db, "
             "else ~/.local/state/imagebot/state.db)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _when(value: datetime.datetime | None) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"


def _table(title: str, rows: Sequence[Sequence[str]]) -> None:
    print(title)
    if len(rows) == 1:
        print("  (none recorded)")
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1])


def as_json(status: Status) -> dict[str, object]:
    return {
        "repositories": [
            {"name": str(r.key), "image": r.image, "lastScan": _when(r.scanned_at), "tags": r.tag_count,
             "ready": r.error is None, "error": r.error, "lastSuccess": _when(r.last_success)}
            for r in status.repositories
        ],
        "policies": [
            {"name": str(p.key), "latest": p.latest, "heldBack": list(p.held_back), "reason": p.reason,
             "ready": p.error is None and p.latest is not None, "error": p.error,
             "evaluated": _when(p.evaluated_at)}
            for p in status.policies
        ],
        "automations": [
            {"name": str(a.key), "lastRun": _when(a.ran_at), "ready": a.error is None, "error": a.error,
             "lastCommit": a.last_commit, "lastPullRequest": a.last_pull_request,
             "lastChange": _when(a.last_change_at) if a.last_change_at else None}
            for a in status.automations
        ],
    }


def show(status: Status) -> None:
    _table("IMAGE REPOSITORIES", [("NAME", "LAST SCAN", "TAGS", "READY", "MESSAGE")] + [
        (str(r.key), _when(r.scanned_at), "-" if r.tag_count is None else str(r.tag_count),
         str(r.error is None), r.error or f"{r.image}: last scan found {r.tag_count} tags")
        for r in status.repositories
    ])
    print()
    _table("IMAGE POLICIES", [("NAME", "LATEST", "READY", "MESSAGE")] + [
        (str(p.key), p.latest or "-", str(p.error is None and p.latest is not None),
         (p.error or p.reason) + ("; held back: " + ", ".join(p.held_back) if p.held_back else ""))
        for p in status.policies
    ])
    print()
    _table("IMAGE UPDATE AUTOMATIONS", [("NAME", "LAST RUN", "READY", "LAST CHANGE", "MESSAGE")] + [
        (str(a.key), _when(a.ran_at), str(a.error is None), _when(a.last_change_at),
         a.error or " ".join(x for x in (
             f"last commit {a.last_commit}" if a.last_commit else "",
             f"pull request {a.last_pull_request}" if a.last_pull_request else "",
         ) if x) or "no change made yet")
        for a in status.automations
    ])


def run(args: argparse.Namespace) -> int:
    path = state_path(args)
    if not path.exists():
        raise ConfigError(f"state store {path} does not exist: run 'imagebot run' or "
                          "'imagebot serve' first, or pass --state")
    with state.StateStore(path) as store:
        status = store.status()
    if args.json:
        print(json.dumps(as_json(status), indent=2))
    else:
        show(status)
    failed = any(r.error for r in status.repositories) or any(p.error for p in status.policies) or any(
        a.error for a in status.automations)
    return 1 if failed else 0
