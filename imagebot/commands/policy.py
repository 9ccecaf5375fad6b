"""Evaluate one ImagePolicy against a list of tags, offline: `imagebot policy test`.

The tags come one per line from a file or stdin (blank lines and #comments skipped). A line may
add, separated by spaces, when the tag was first seen (RFC 3339, for cooldowns) and its digest
(sha256:…, for digest reflection). The ImageRepository's exclusionList applies when the policy
file holds the repository too; otherwise Flux's default (^.*\\.sig$).

Prints the selected tag alone on stdout and exits 0. With no selection prints nothing on stdout,
the reason on stderr, and exits 1. An invalid policy exits 2. --explain adds the trace on
stderr; --json prints the whole evaluation as JSON on stdout instead of the tag.

Examples:
  imagebot policy test policy.yaml --tags tags.txt
  crane ls ghcr.io/org/app | imagebot policy test policy.yaml --explain
  printf '1.0.0\\n1.1.0 2026-03-01T00:00:00Z\\n' | imagebot policy test p.yaml --now 2026-03-02T00:00:00Z
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import TextIO

from imagebot import errors, policy, validation
from imagebot.model import flux, images
from imagebot.model.ids import Digest, ObjectKey, Tag
from imagebot.model.selections import Evaluation


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")
    test = sub.add_parser(
        "test", help="evaluate one ImagePolicy against tags read one per line",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    test.add_argument("policy_file", metavar="POLICY_FILE", type=Path,
                      help="YAML holding the ImagePolicy (and optionally its ImageRepository)")
    test.add_argument("--tags", default="-", metavar="FILE|-", help="tags, one per line (default: stdin)")
    test.add_argument("--explain", action="store_true", help="print the trace on stderr")
    test.add_argument("--json", action="store_true", help="print the evaluation as JSON on stdout")
    test.add_argument("--current", metavar="TAG", help="the tag in use now (flags downgrades)")
    test.add_argument("--policy", metavar="[NS/]NAME", help="which policy, when the file holds several")
    test.add_argument("--now", metavar="TIME", type=_timestamp,
                      help="evaluate as of this RFC 3339 time (default: now), for cooldowns")
    parser.set_defaults(policy_parser=parser)


def run(args: argparse.Namespace) -> int:
    if args.policy_command != "test":
        args.policy_parser.print_help(sys.stderr)
        return 2
    spec, repository = _pick(*_read_objects(args.policy_file), wanted=args.policy)
    policy.validate(spec)  # a bad range or regex fails before any tag is read (exit 2)
    raw, first_seen, digests = _read_tags(args.tags)
    exclusions = repository or _default_repository(spec)
    kept, dropped = policy.exclude(raw, exclusions)
    now = args.now or datetime.datetime.now(datetime.UTC)
    repo = exclusions.image
    tags = images.TagList(repo, kept, now, digests=digests, first_seen=first_seen)
    current = Tag(args.current) if args.current else None
    evaluation = policy.evaluate(tags, spec, now=now, current=current, current_digest=None)
    if args.json:
        json.dump(_to_json(evaluation, read=len(raw), dropped=dropped), sys.stdout, indent=2)
        print()
    elif evaluation.selection is not None:
        print(evaluation.selection.tag)
    if args.explain:
        _explain(evaluation, read=len(raw), dropped=dropped, patterns=exclusions.exclusion_list,
                 out=sys.stderr)
    elif evaluation.selection is None:
        print(f"imagebot: {evaluation.policy}: {evaluation.reason}", file=sys.stderr)
    return 0 if evaluation.selection is not None else 1


def _timestamp(text: str) -> datetime.datetime:
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 time") from None
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def _read_objects(
        path: Path,
) -> tuple[dict[ObjectKey, flux.ImagePolicy], dict[ObjectKey, flux.ImageRepository]]:
    # the file may hold the policy alone: its ImageRepository is optional here
    loaded = validation.load(path, check_references=False)
    return dict(loaded.image_policies), dict(loaded.image_repositories)


def _pick(
        policies: dict[ObjectKey, flux.ImagePolicy],
        repositories: dict[ObjectKey, flux.ImageRepository],
        *,
        wanted: str | None,
) -> tuple[flux.ImagePolicy, flux.ImageRepository | None]:
    candidates = list(policies.values())
    if wanted:
        candidates = [p for p in candidates if wanted in (str(p.key), p.key.name)]
    if len(candidates) != 1:
        names = ", ".join(str(k) for k in policies) or "none"
        which = f"no ImagePolicy named {wanted!r}" if wanted else (
            "no ImagePolicy" if not candidates else "several ImagePolicies; pick one with --policy"
        )
        raise errors.ConfigError(f"{which} in the file (found: {names})")
    spec = candidates[0]
    return spec, repositories.get(spec.repository)


def _default_repository(spec: flux.ImagePolicy) -> flux.ImageRepository:
    name = str(spec.repository)
    return flux.ImageRepository(
        key=spec.repository, image=images.ImageRepo("offline", name, name),
        interval=datetime.timedelta(0), timeout=datetime.timedelta(0),
    )


def _read_tags(source: str) -> tuple[list[Tag], dict[Tag, datetime.datetime], dict[Tag, Digest]]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.ConfigError(f"--tags {source}: cannot read: {exc}") from None
    tags: list[Tag] = []
    first_seen: dict[Tag, datetime.datetime] = {}
    digests: dict[Tag, Digest] = {}
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        tag = Tag(fields[0])
        tags.append(tag)
        for extra in fields[1:]:
            if ":" in extra and extra.split(":", 1)[0].startswith("sha"):
                digests[tag] = Digest(extra)
                continue
            try:
                first_seen[tag] = _timestamp(extra)
            except argparse.ArgumentTypeError:
                raise errors.ConfigError(
                    f"--tags {source}, line {number}: {extra!r} is neither an RFC 3339 time "
                    "nor a digest"
                ) from None
    return tags, first_seen, digests


def _to_json(evaluation: Evaluation, *, read: int, dropped: tuple[Tag, ...]) -> dict[str, object]:
    selection, trace = evaluation.selection, evaluation.trace

    def when(value: datetime.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "policy": str(evaluation.policy),
        "selected": selection.tag if selection else None,
        "digest": selection.digest if selection else None,
        "downgrade": selection.downgrade if selection else False,
        "repushed": bool(selection and selection.repush),
        "reason": evaluation.reason,
        "rule": trace.rule,
        "tags": {"read": read, "excluded_by_repository": len(dropped), "evaluated": trace.total},
        "excluded": [
            {"rule": e.rule, "count": e.count, "examples": list(e.examples)} for e in trace.excluded
        ],
        "eligible": trace.eligible,
        "top": [
            {"tag": c.tag, "value": c.value, "version": c.version} for c in trace.top
        ],
        "held_back": [
            {"tag": c.tag, "value": c.value, "eligible_at": when(c.eligible_at)}
            for c in trace.held_back
        ],
        "notes": list(trace.notes),
    }


def _explain(
        evaluation: Evaluation, *, read: int, dropped: tuple[Tag, ...], patterns: tuple[str, ...],
        out: TextIO,
) -> None:
    trace = evaluation.trace

    def row(label: str, text: str) -> None:
        print(f"  {label:<10} {text}", file=out)

    print(f"{evaluation.policy}: {trace.rule}", file=out)
    row("tags", f"{read} read, {len(dropped)} dropped by the exclusion list "
                f"({', '.join(patterns) or 'none'})")
    for exclusion in trace.excluded:
        examples = ", ".join(exclusion.examples)
        more = ", …" if exclusion.count > len(exclusion.examples) else ""
        row("excluded", f"{exclusion.count:>5} {exclusion.rule:<14} e.g. {examples}{more}")
    row("eligible", str(trace.eligible))
    for index, candidate in enumerate(trace.top):
        shown = str(candidate.tag)
        if candidate.value != candidate.tag:
            shown += f"  (value {candidate.value})"
        if candidate.version:
            shown += f"  (= {candidate.version})"
        row("top" if index == 0 else "", shown)
    for candidate in trace.held_back:
        at = candidate.eligible_at.isoformat() if candidate.eligible_at else "?"
        row("held back", f"{candidate.tag}  (old enough at {at})")
    for note in trace.notes:
        row("note", note)
    row("result", evaluation.reason)
