"""Show each Application / Kustomization against the cluster: revision, sync status, health, why.

Renders every unit at its Git revision (as 'imagebot sync' would), compares each object with
the live one by a server-side dry-run apply, and rolls up the health of the live objects with
Argo CD's rules. Changes nothing.

Exit status: 0 listed (whatever the status), 1 some unit could not be assessed, 2 the
configuration is invalid.

examples:
  imagebot apps
  imagebot apps argocd/shop-dev --json
"""

from __future__ import annotations

import argparse
import json
import sys

from imagebot import sync
from imagebot.commands.sync import (
    Clusters,
    add_source_options,
    kubeconfig_of,
    record_statuses,
    render_all,
    selected_units,
)
from imagebot.errors import ConfigError, ImagebotError
from imagebot.model.cluster import UnitStatus


def configure(parser: argparse.ArgumentParser) -> None:
    add_source_options(parser)


def run(args: argparse.Namespace) -> int:
    units = selected_units(args)
    kubeconfig = kubeconfig_of(args)
    if kubeconfig is None:
        raise ConfigError("no kubeconfig: pass --kubeconfig or set KUBECONFIG")
    clusters = Clusters(kubeconfig, args.context)
    rows: list[UnitStatus] = []
    observed: list[UnitStatus] = []
    problems = 0
    try:
        rendered, failures = render_all(units, args, clusters)
        for unit, error in failures:
            rows.append(UnitStatus(unit=unit.name, revision="?", sync="Unknown", health="Unknown",
                                   why=(error,)))
            problems += 1
        for render, revision in rendered:
            try:
                rows.append(sync.status(render, revision, clusters.for_unit(render.unit)))
                observed.append(rows[-1])
            except ConfigError:
                raise
            except ImagebotError as exc:
                rows.append(UnitStatus(unit=render.unit.name, revision=revision, sync="Unknown",
                                       health="Unknown", why=(str(exc),)))
                problems += 1
    finally:
        clusters.close()
    record_statuses(args.state, observed)
    order = {u.name: i for i, u in enumerate(units)}
    rows.sort(key=lambda r: order.get(r.unit, 0))
    if args.json:
        print(json.dumps([{"app": r.unit, "revision": r.revision, "syncedRevision": r.synced_revision,
                           "sync": r.sync, "health": r.health, "why": list(r.why)} for r in rows], indent=2))
        return 1 if problems else 0
    table = [("APP", "REVISION", "SYNC", "HEALTH", "WHY")]
    for r in rows:
        revision = r.revision[:12]
        if r.synced_revision and r.synced_revision != r.revision:
            revision += f" (synced {r.synced_revision[:12]})"
        table.append((r.unit, revision, r.sync, r.health, "; ".join(r.why)))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print("  ".join(row[i].ljust(widths[i]) for i in range(4)) + ("  " + row[4] if row[4] else ""))
    if problems:
        print(f"imagebot: {problems} unit(s) could not be assessed", file=sys.stderr)
    return 1 if problems else 0
