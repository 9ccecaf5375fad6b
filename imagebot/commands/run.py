"""Run the whole pipeline once: scan registries, choose tags, rewrite marked fields, publish.

For each ImageUpdateAutomation in --config: scan the ImageRepositories its ImagePolicies use,
choose a tag per policy, rewrite the marked fields under spec.update.path, then commit and push
to the automation's push branch — or, with --pr (or a PullRequest object for the automation),
push imagebot's own branch and open or update one pull request.

The git repository is the automation's GitRepository (cloned into --workdir and reused), a URL
or path given with --repo, or the checkout you are in with --repo . (as in a GitHub Action).

Exit status: 0 done (with or without changes); 1 some automation or image repository failed (a
registry, a file, a push — the others still ran); 2 the configuration or the command line is
invalid. The last line is a summary ('summary: 3 automations: 1 committed, 2 unchanged'); --json
prints one document with the reports, the failures and the same summary.

examples:
  imagebot run --dry-run                       show the diff and commit message, touch nothing
  imagebot run --automation flux-system/dev    only that automation
  imagebot run --repo . --pr                   in a checkout: push a branch, open a pull request
  imagebot run --shard 1/3                     the second of three shares of the automations
                                               (or $JOB_COMPLETION_INDEX/$IMAGEBOT_SHARD_COUNT)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imagebot import config
from imagebot.commands.scan import add_config_options, load_settings, state_path, unrecorded_note
from imagebot.commands.shard import add_shard_option, shard_from
from imagebot.errors import ConfigError

if TYPE_CHECKING:  # the pipeline (httpx, pygit2, ruamel.yaml, ...) is imported when a run starts
    from imagebot import pipeline
    from imagebot.model import flux
    from imagebot.model.selections import Evaluation

logger = logging.getLogger("imagebot.run")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser)
    add_shard_option(parser)
    parser.add_argument(
        "--automation", action="append", default=[], metavar="NS/NAME",
        help="run only this ImageUpdateAutomation (repeatable; default: all that are not suspended)",
    )
    parser.add_argument(
        "--repo", metavar="PATH|URL",
        help="git repository to update instead of the automation's GitRepository; an existing "
             "checkout (e.g. '.') is worked on in place",
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, metavar="DIR",
        help="where clones are kept and reused (default: $IMAGEBOT_HOME/git, else "
             "~/.local/state/imagebot/git)",
    )
    parser.add_argument(
        "--digests", choices=("selected", "none", "all", "new"), default="selected",
        help="digest look-ups (HEAD, not counted as a Docker Hub pull): 'selected' (default) only the "
             "tag each policy selects, so a first run costs what a later one does; 'all' also every "
             "listed tag; 'none' no look-ups (digests already in the state store are still used); "
             "'new' is the old name of 'selected'",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of text")


def configure(parser: argparse.ArgumentParser) -> None:
    add_run_options(parser)
    parser.add_argument("--dry-run", action="store_true",
                        help="print the diff and the commit message; write, commit and push nothing")
    push = parser.add_mutually_exclusive_group()
    push.add_argument("--push", dest="push", action="store_true", default=True,
                      help="push after committing (default)")
    push.add_argument("--no-push", dest="push", action="store_false",
                      help="commit in the work tree only")
    parser.add_argument("--pr", action="store_true",
                        help="open or update a pull request instead of pushing to the base branch")


def _selected(cfg: config.Config, names: Sequence[str]) -> list[flux.ImageUpdateAutomation]:
    if not names:
        return [a for _, a in sorted(cfg.automations.items()) if not a.suspend]
    chosen = []
    for name in names:
        namespace, sep, short = name.rpartition("/")
        matches = [a for k, a in sorted(cfg.automations.items())
                   if k.name == short and (not sep or k.namespace == namespace)]
        if not matches:
            known = ", ".join(str(k) for k in sorted(cfg.automations)) or "none"
            raise ConfigError(f"--automation {name}: no such ImageUpdateAutomation (known: {known})")
        chosen.extend(matches)
    return chosen


def options_from(args: argparse.Namespace, *, dry_run: bool) -> pipeline.RunOptions:
    """The run options the command line asks for (``run`` and ``plan`` share them)."""
    from imagebot import pipeline

    return pipeline.RunOptions(
        dry_run=dry_run, push=getattr(args, "push", True), pull_request=getattr(args, "pr", False),
        repo=args.repo, workdir=args.workdir, digests="selected" if args.digests == "new" else args.digests,
        share_scans=shard_from(args) is not None,
    )


def execute(
    args: argparse.Namespace, *, dry_run: bool
) -> tuple[list[pipeline.AutomationReport], list[pipeline.Failure]]:
    """Load the configuration and run the pipeline once; failures are collected, not raised."""
    from imagebot import pipeline, state
    from imagebot.model.ids import ObjectKey

    cfg = load_settings(args)
    automations = _selected(cfg, args.automation)
    if not automations:
        raise ConfigError(f"no ImageUpdateAutomation objects in {args.config}")
    shard = shard_from(args)
    if shard is not None:
        index, count = shard
        automations = [a for a in automations if pipeline.shard_of(a.key, count) == index]
        logger.info("shard %d/%d: %d automation(s)", index, count, len(automations))
        if not automations:
            return [], []  # a shard with nothing to do is not an error
    with state.StateStore(state_path(args), wait=args.state_wait) as store:
        report = pipeline.run(cfg, secrets=config.SecretStore(args.secrets_dir), state=store,
                              automations=automations, options=options_from(args, dry_run=dry_run))
        unrecorded = unrecorded_note(store)
    failures = list(report.failures)
    if unrecorded:
        failures.append(pipeline.Failure("state", ObjectKey("", ""), unrecorded))
    return list(report.automations), failures


def print_table(report: pipeline.AutomationReport) -> None:
    print(f"automation {report.automation}")
    rows = [("policy", "current", "selected", "why")]
    for evaluation in report.evaluations:
        selected = evaluation.selection.tag if evaluation.selection else "-"
        flag = " (downgrade)" if evaluation.selection and evaluation.selection.downgrade else ""
        rows.append((str(evaluation.policy), report.current.get(evaluation.policy, "?"),
                     f"{selected}{flag}", evaluation.reason + _held_back(evaluation)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    for evaluation in report.evaluations:
        repush = evaluation.selection.repush if evaluation.selection else None
        if repush is not None:
            print(f"  WARNING {evaluation.policy}: tag {repush.tag} was re-pushed: it pointed at "
                  f"{repush.first_digest} when first seen and points at {repush.digest} now")
    for line in report.skipped:
        print(f"  skipped {line}")
    if report.waiting:
        print(f"  {report.waiting}")
    for problem in report.changes.errors:
        print(f"  error {problem}")
    for problem in report.changes.warnings:
        print(f"  warning {problem}")


def _held_back(evaluation: Evaluation) -> str:
    """``; cooldown holds back 6.7.1 until <time>, …`` for candidates only the cooldown excluded."""
    held = [(c.tag, c.eligible_at) for c in evaluation.trace.held_back if c.eligible_at is not None]
    if not held or evaluation.selection is None:
        return ""  # without a selection the reason already says when the first becomes eligible
    shown = ", ".join(f"{tag} until {when.isoformat(timespec='seconds')}" for tag, when in held[:3])
    more = f" (and {len(held) - 3} more)" if len(held) > 3 else ""
    return f"; cooldown holds back {shown}{more}"


def _summary(report: pipeline.AutomationReport, *, dry_run: bool) -> str:
    fields = sum(len(f.changes) for f in report.changes.files)
    if not fields:
        return "  nothing to change"
    if report.waiting:
        return f"  held by its promotion gate: {fields} field{'s' * (fields != 1)} not yet changed"
    files = len(report.changes.files)
    verb = "would change" if dry_run else "changed"
    what = f"  {verb} {fields} field{'s' * (fields != 1)} in {files} file{'s' * (files != 1)}"
    for pull_request in report.pull_requests:
        verb = "opened" if pull_request.created else "updated"
        what += f"; {verb} pull request #{pull_request.number} {pull_request.url}"
    if not report.pull_requests and report.revision is not None:
        what += f"; committed {report.revision.sha[:12]} on {report.revision.branch}"
    return what


def describe(report: pipeline.AutomationReport, *, dry_run: bool) -> str:
    """One line: the fields changed (or that would be) and the commit or pull requests made."""
    return _summary(report, dry_run=dry_run).strip()


def as_json(report: pipeline.AutomationReport) -> dict[str, object]:
    return {
        "automation": str(report.automation),
        "policies": [
            {"policy": str(e.policy), "current": report.current.get(e.policy),
             "selected": e.selection.tag if e.selection else None,
             "downgrade": bool(e.selection and e.selection.downgrade),
             "repushed": bool(e.selection and e.selection.repush), "reason": e.reason,
             "held_back": [{"tag": c.tag, "until": c.eligible_at.isoformat(timespec="seconds")}
                           for c in e.trace.held_back if c.eligible_at is not None]}
            for e in report.evaluations
        ],
        "skipped": list(report.skipped),
        "waiting": report.waiting,
        "files": [{"path": f.path, "changes": [
            {"line": c.line, "setter": c.setter, "old": c.old_value, "new": c.new_value}
            for c in f.changes]} for f in report.changes.files],
        "errors": [str(p) for p in report.changes.errors],
        "message": report.message,
        "revision": report.revision.sha if report.revision else None,
        "pull_requests": [p.url for p in report.pull_requests],
    }


_OUTCOMES = ("committed", "pull_request", "would_change", "waiting", "unchanged", "failed")
_OUTCOME_WORDS = {"pull_request": "with a pull request", "would_change": "would change",
                  "waiting": "waiting for a promotion gate"}


def outcome(report: pipeline.AutomationReport) -> str:
    """What one automation's run came to: one of :data:`_OUTCOMES` (a dry run "would change")."""
    if report.changes.errors:
        return "failed"
    if report.pull_requests:
        return "pull_request"
    if report.revision is not None:
        return "committed"
    if report.waiting and report.changes.files:
        return "waiting"
    return "would_change" if report.changes.files else "unchanged"


def summary(
    reports: Sequence[pipeline.AutomationReport], failures: Sequence[pipeline.Failure]
) -> dict[str, int]:
    """Automations per outcome, image repositories that failed to scan, and the exit status."""
    counts = dict.fromkeys(_OUTCOMES, 0)
    for report in reports:
        counts[outcome(report)] += 1
    failed_automations = sum(1 for f in failures if f.kind == "automation")
    counts["failed"] += failed_automations
    code = 1 if failures or counts["failed"] else 0
    return {"automations": len(reports) + failed_automations, **counts,
            "repositories_failed": sum(1 for f in failures if f.kind == "repository"), "exit_code": code}


def summary_line(counts: Mapping[str, int]) -> str:
    automations = counts["automations"]
    parts = [f"{counts[k]} {_OUTCOME_WORDS.get(k, k)}" for k in _OUTCOMES if counts[k]]
    line = f"summary: {automations} automation{'s' * (automations != 1)}: " + ", ".join(parts or ["none run"])
    if counts["repositories_failed"]:
        n = counts["repositories_failed"]
        line += f"; {n} image repositor{'ies' if n != 1 else 'y'} failed to scan"
    return line


def show(reports: Sequence[pipeline.AutomationReport], failures: Sequence[pipeline.Failure], *,
         as_json_output: bool, dry_run: bool, diff: bool) -> int:
    """Print the reports (text or JSON), the failures and the summary; the exit status of run and plan."""
    counts = summary(reports, failures)
    if as_json_output:
        document = {
            "automations": [as_json(r) for r in reports],
            "failures": [{"kind": f.kind, "name": str(f.key), "error": f.error} for f in failures],
            "summary": counts,
        }
        print(json.dumps(document, indent=2))
    for report in [] if as_json_output else reports:
        print_table(report)
        print(_summary(report, dry_run=dry_run))
        if diff and report.diff:
            print()
            print(report.diff, end="")
            print(f"\n--- commit message ---\n{report.message}")
    for failure in failures:
        print(f"imagebot: {failure}", file=sys.stderr)
    if not as_json_output:
        print(summary_line(counts), flush=True)
    return counts["exit_code"]


def run(args: argparse.Namespace) -> int:
    reports, failures = execute(args, dry_run=args.dry_run)
    return show(reports, failures, as_json_output=args.json, dry_run=args.dry_run, diff=args.dry_run)
