"""List every image-policy marker in YAML files, and the image references that have none.

Each marker is shown as FILE:LINE, its policy, what it writes (ref, tag, name or digest) and the
value it holds now. With --policy or --config the known policies are checked and markers naming
any other policy are flagged. Image fields without a marker (image: values, Helm repository/tag
pairs, kustomize images: entries) are listed with the line a user could write to mark them:

  imagebot markers clusters/
  imagebot markers --config policies/ .
  imagebot markers --json . | jq '.unmarked[].suggestion'

Exit status: 0, or 1 when a file could not be read or parsed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from imagebot import setters, validation
from imagebot.commands import set as set_command
from imagebot.errors import ConfigError
from imagebot.model.ids import ObjectKey


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", metavar="NS:NAME[=IMAGE_REF]", action="append", default=[],
        help="a known policy (repeatable); markers naming others are flagged",
    )
    parser.add_argument(
        "--config", type=Path, default=None,
        help="policies directory: its ImagePolicies are the known policies",
    )
    parser.add_argument(
        "--namespace", default="flux-system",
        help="namespace used in suggested markers when no known policy matches (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true",
                        help="print markers, unmarked references (with suggested lines), problems as JSON")
    set_command.add_tree_options(parser, optional_paths=True)


def known_policies(args: argparse.Namespace) -> dict[ObjectKey, str] | None:
    """Known policy → image name, from --config and --policy; ``None`` when neither was given."""
    if args.config is None and not args.policy:
        return None
    known: dict[ObjectKey, str] = {}
    if args.config is not None:
        loaded = validation.load(args.config)
        for key, policy in loaded.image_policies.items():
            repository = loaded.image_repositories.get(policy.repository)
            known[key] = repository.image.name if repository is not None else ""
    for text in args.policy:
        if "=" in text:
            key, ref = set_command.policy_value(text)
            known[key] = ref.name
            continue
        namespace, _, name = text.partition(":")
        if not namespace or not name or ":" in name:
            raise ConfigError(f"--policy {text!r}: expected NS:NAME or NS:NAME=IMAGE_REF")
        known.setdefault(ObjectKey(namespace, name), "")
    return known


def run(args: argparse.Namespace) -> int:
    try:
        known = known_policies(args)
    except argparse.ArgumentTypeError as exc:
        raise ConfigError(f"--policy {exc}") from None
    paths = list(args.paths) or [Path()]
    root = set_command.resolve_root(args.root, paths)
    report = setters.find_markers(
        root=root, paths=[path.resolve() for path in paths], ignore=args.ignore,
        policies={key: image for key, image in (known or {}).items() if image},
        namespace=args.namespace,
    )
    if args.json:
        print(json.dumps(_as_json(report, known), indent=2))
        return 1 if report.errors else 0
    rows = [
        (
            f"{marker.path}:{marker.line}", marker.setter, marker.field, marker.value or '""',
            "UNKNOWN POLICY" if known is not None and marker.policy not in known else "",
        )
        for marker in report.markers
    ]
    _print_table(rows)
    for warning in report.warnings:
        print(f"{warning}  [warning]")
    if report.unmarked:
        print("\nimage references without a marker (add the comment shown to have them updated):")
        for item in report.unmarked:
            print(f"{item.path}:{item.line}: {item.key} {item.value or chr(34) * 2}")
            print(f"    {item.suggestion.strip()}")
    for error in report.errors:
        print(f"imagebot: {error}", file=sys.stderr)
    unknown = sum(1 for row in rows if row[-1])
    print(
        f"imagebot: {len(rows)} marker(s), {unknown} naming unknown policies, "
        f"{len(report.unmarked)} unmarked image reference(s)",
        file=sys.stderr,
    )
    return 1 if report.errors else 0


def _as_json(report: setters.MarkerReport, known: dict[ObjectKey, str] | None) -> dict[str, object]:
    return {
        "markers": [
            {"path": m.path, "line": m.line, "marker": m.setter,
             "policy": f"{m.policy.namespace}:{m.policy.name}", "field": m.field, "value": m.value,
             "object": str(m.object), "known": None if known is None else m.policy in known}
            for m in report.markers
        ],
        "unmarked": [
            {"path": u.path, "line": u.line, "key": u.key, "value": u.value, "image": u.image,
             "marker": u.setter, "suggestion": u.suggestion.rstrip("\r\n")}
            for u in report.unmarked
        ],
        "errors": [set_command.problem_json(p) for p in report.errors],
        "warnings": [set_command.problem_json(p) for p in report.warnings],
    }


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
