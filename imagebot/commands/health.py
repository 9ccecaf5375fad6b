"""Assess the health of live Kubernetes objects saved with kubectl, offline.

Reads objects as 'kubectl get -o yaml' (or -o json) prints them: one object, a List (or a typed
list such as DeploymentList, as the API returns it), or several YAML documents; FILE '-' is
standard input. Prints, for each object, its kind, namespace/name,
health (Healthy, Progressing, Degraded, Suspended, Missing, Unknown; '-' for kinds that have no
health, such as ConfigMap) and why, then the overall health with the objects that cause it. The
rules are Argo CD's, per kind, including Argo Rollouts (a canary paused at a step is
Suspended); custom resources are judged by their Ready/Stalled/Reconciling conditions.
--json prints {"status", "why", "objects": [{"apiVersion", "kind", "namespace", "name",
"status", "message", "counted"}]}.

Exit status: 0 once assessed, whatever the health; 2 when a file cannot be read or parsed.

examples:
  kubectl get deploy,rs,pods -n shop -o yaml > live.yaml && imagebot health -f live.yaml
  kubectl get rollout web -o yaml | imagebot health -f -
  imagebot health -f live.yaml --json | jq '.objects[] | select(.status != "Healthy")'
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imagebot import sync, yamldoc
from imagebot.model.health import ResourceHealth


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--filename", dest="files", action="append", required=True, metavar="FILE",
        help="YAML or JSON from 'kubectl get -o yaml' ('-' for stdin; repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the assessment as JSON")


class _InputError(Exception):
    pass


def _objects(name: str) -> list[Mapping[str, Any]]:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _InputError(f"{name}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        documents = yamldoc.load_all_plain(text)
    except yamldoc.YAMLSyntaxError as exc:
        raise _InputError(f"{name}: {exc}") from None
    found: list[Mapping[str, Any]] = []
    for number, document in enumerate(documents, start=1):
        if document is None:
            continue
        where = f"{name} (document {number})" if len(documents) > 1 else name
        if not isinstance(document, Mapping) or not isinstance(document.get("kind"), str):
            raise _InputError(f"{where}: not a Kubernetes object (no kind)")
        if document["kind"].endswith("List") and isinstance(document.get("items"), list):
            # a typed list straight from the API (DeploymentList) leaves kind out of its items
            kind = document["kind"][: -len("List")]
            implied = {"apiVersion": document.get("apiVersion", ""), "kind": kind} if kind else {}
            for index, raw in enumerate(document["items"]):
                item = {**implied, **raw} if isinstance(raw, Mapping) and "kind" not in raw else raw
                if not isinstance(item, Mapping) or not isinstance(item.get("kind"), str):
                    raise _InputError(f"{where}: items[{index}] is not a Kubernetes object (no kind)")
                found.append(item)
        else:
            found.append(document)
    return found


def run(args: argparse.Namespace) -> int:
    try:
        objects = [obj for name in args.files for obj in _objects(name)]
    except _InputError as exc:
        print(f"imagebot: {exc}", file=sys.stderr)
        return 2
    assessed = [sync.resource_health(obj) for obj in objects]
    summary = sync.rollup(assessed)
    if args.json:
        json.dump({
            "status": summary.status.value, "why": summary.why,
            "objects": [_as_json(obj, one) for obj, one in zip(objects, assessed, strict=True)],
        }, sys.stdout, indent=2)
        print()
        return 0
    rows = [("KIND", "NAMESPACE/NAME", "STATUS", "MESSAGE")]
    for one in assessed:
        health = one.health
        status = health.status.value if health is not None else "-"
        message = health.message if health is not None else "no health check for this kind"
        if not one.counted:
            message = f"{message} (not counted: hook or ignore-healthcheck)".lstrip()
        rows.append((one.kind, f"{one.namespace}/{one.name}" if one.namespace else one.name, status, message))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[3]]).rstrip())
    print(f"\noverall: {summary.status.value}" + (f" ({summary.why})" if summary.why else ""))
    return 0


def _as_json(obj: Mapping[str, Any], one: ResourceHealth) -> dict[str, object]:
    return {
        "apiVersion": obj.get("apiVersion", ""), "kind": one.kind, "namespace": one.namespace,
        "name": one.name, "status": one.health.status.value if one.health is not None else None,
        "message": one.health.message if one.health is not None else "", "counted": one.counted,
    }
