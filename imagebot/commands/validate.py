"""Check the configuration and the manifests, offline, as 'run' would read them.

Every object of --config is checked as 'run' loads it: kinds and keys (a near miss such as
ImagePolicyy or imageRepositoryRf names the kind or key meant), fields, semver ranges and regexes,
references (a policy's ImageRepository, an automation's policySelector that selects nothing,
an automation's GitRepository). The manifests under PATH (default: the current directory) are
checked against the policies: markers naming policies that do not exist, policies no marker names.
No network is used.

Findings are printed one per line (FILE:LINE: error|warning: message [code]); with --json as one
JSON document; when GITHUB_ACTIONS is set, as GitHub annotations (::error file=…,line=…::…).

Exit status: 0 no errors (and, with --strict, no warnings); 2 otherwise — the configuration is
invalid, as for every command — including when --config cannot be read at all.

examples:
  imagebot validate --config policies/ clusters/
  imagebot validate --strict --json | jq '.findings[] | select(.severity == "error")'
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from imagebot import config, validation
from imagebot.commands import set as set_command
from imagebot.model.findings import Finding


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=Path("policies"), metavar="PATH",
        help="directory (or file) of Flux/Argo CD/imagebot YAML objects (default: ./policies)",
    )
    parser.add_argument("--strict", action="store_true", help="warnings fail the check too (exit 2)")
    parser.add_argument("--json", action="store_true", help="print the findings as one JSON document")
    set_command.add_tree_options(parser, optional_paths=True)


def run(args: argparse.Namespace) -> int:
    loaded, found = config.inspect(args.config)
    findings = [*found, *validation.check_policies(loaded)]
    paths = list(args.paths) or [Path()]
    root = set_command.resolve_root(args.root, paths)
    marker_findings, markers = validation.check_markers(
        loaded, root=root, paths=[p.resolve() for p in paths], ignore=args.ignore,
    )
    findings += marker_findings
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    failed = bool(errors or (args.strict and warnings))
    if args.json:
        print(json.dumps({
            "ok": not failed, "errors": errors, "warnings": warnings, "strict": args.strict,
            "checked": {"files": len(loaded.files), "markers": markers},
            "findings": [_as_json(f) for f in findings],
        }, indent=2))
    elif config.in_github_actions():
        for finding in findings:
            print(_annotation(finding))
    else:
        for finding in findings:
            print(finding)
    what = f"{len(loaded.files)} configuration file(s), {markers} marker(s)"
    if not findings:
        print(f"imagebot: validate: no problems in {what}", file=sys.stderr)
    else:
        strict = " (--strict: warnings fail)" if args.strict and warnings else ""
        print(f"imagebot: validate: {errors} error(s), {warnings} warning(s) in {what}{strict}",
              file=sys.stderr)
    return 2 if failed else 0


def _as_json(finding: Finding) -> dict[str, object]:
    return {
        "severity": finding.severity, "code": finding.code, "file": finding.file, "line": finding.line,
        "document": finding.document, "key": finding.key_path, "message": finding.message,
    }


def _escape(text: str, *, property_value: bool = False) -> str:
    # https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts (escapeData/escapeProperty)
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def _annotation(finding: Finding) -> str:
    properties: Sequence[tuple[str, str]] = [
        *([("file", finding.file)] if finding.file else []),
        *([("line", str(finding.line))] if finding.line else []),
        ("title", f"imagebot validate: {finding.code}"),
    ]
    joined = ",".join(f"{key}={_escape(value, property_value=True)}" for key, value in properties)
    return f"::{finding.severity} {joined}::{_escape(finding.message)}"
