"""Show each Application / Kustomization against the cluster: revision, sync status, health, why.

Renders every unit at its Git revision (as 'imagebot sync' would), compares each object with
the live one by a server-side dry-run apply, and rolls up the health of the live objects with
Argo CD's rules. Changes nothing. Applications an ApplicationSet generated name it (APPSET).
Without a kubeconfig, every Application (generated ones included) is listed with its source and
destination, sync status and health Unknown.

Exit status: 0 listed (whatever the status), 1 some unit could not be assessed or some
ApplicationSet generated nothing, 2 the configuration is invalid.

examples:
  imagebot apps
  imagebot apps argocd/shop-dev --json
  imagebot apps --config policies --json          no cluster: what the ApplicationSets generate
"""

from __future__ import annotations

import argparse
import json
import sys

from imagebot import sync
from imagebot.commands.sync import (
    Clusters,
    add_source_options,
    appset_failures,
    kubeconfig_of,
    record_statuses,
    render_all,
    selected_units,
    settle,
)
from imagebot.errors import ConfigError, ImagebotError
from imagebot.model.cluster import UnitStatus
from imagebot.model.flux import GitRef

_NO_CLUSTER = "no kubeconfig: sync status and health are not known"


def configure(parser: argparse.ArgumentParser) -> None:
    add_source_options(parser)


def _revision(ref: GitRef) -> str:
    return ref.commit or ref.name or ref.semver or ref.tag or ref.branch or "HEAD"


def _row_json(unit: sync.SyncUnit | None, row: UnitStatus) -> dict[str, object]:
    found: dict[str, object] = {"app": row.unit}
    if unit is not None:
        found.update(
            kind=unit.kind,
            applicationSet=str(unit.application_set) if unit.application_set else None,
            source={"repoURL": unit.repo_url, "path": unit.path, "targetRevision": _revision(unit.ref)},
            destination={"server": unit.server, "name": unit.cluster_name, "namespace": unit.namespace},
        )
    found.update(revision=row.revision or None, syncedRevision=row.synced_revision, sync=row.sync,
                 health=row.health, why=list(row.why))
    return found


def run(args: argparse.Namespace) -> int:
    kubeconfig = kubeconfig_of(args)
    if kubeconfig is None:
        units = selected_units(args)
        rows = [UnitStatus(unit=u.name, revision="", sync="Unknown", health="Unknown", why=(_NO_CLUSTER,))
                for u in units]
        return _print(rows, units, appset_failures(args), args, problems=0)
    clusters = Clusters(kubeconfig, args.context)
    try:
        settled = settle(args, clusters, write=False)  # the Applications the records and policies give
        units = selected_units(args, settled.applications)
        rows, problems = _assess(units, args, clusters)
    finally:
        clusters.close()
    return _print(rows, units, appset_failures(args, settled.failures), args, problems=problems)


def _assess(units: list[sync.SyncUnit], args: argparse.Namespace,
            clusters: Clusters) -> tuple[list[UnitStatus], int]:
    rows: list[UnitStatus] = []
    observed: list[UnitStatus] = []
    problems = 0
    rendered, failures = render_all(units, args, clusters)
    for unit, error in failures:
        rows.append(UnitStatus(unit=unit.name, revision="?", sync="Unknown", health="Unknown", why=(error,)))
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
    record_statuses(args.state, observed)
    order = {u.name: i for i, u in enumerate(units)}
    rows.sort(key=lambda r: order.get(r.unit, 0))
    return rows, problems


def _print(rows: list[UnitStatus], units: list[sync.SyncUnit], failures: list[tuple[str, str]],
           args: argparse.Namespace, *, problems: int) -> int:
    by_name = {u.name: u for u in units}
    if args.json:
        print(json.dumps([_row_json(by_name.get(r.unit), r) for r in rows], indent=2))
    else:
        table = [("APP", "APPSET", "REVISION", "SYNC", "HEALTH", "WHY")]
        for r in rows:
            unit = by_name.get(r.unit)
            revision = r.revision[:12] or "-"
            if r.synced_revision and r.synced_revision != r.revision:
                revision += f" (synced {r.synced_revision[:12]})"
            app_set = str(unit.application_set) if unit is not None and unit.application_set else "-"
            table.append((r.unit, app_set, revision, r.sync, r.health, "; ".join(r.why)))
        widths = [max(len(row[i]) for row in table) for i in range(5)]
        for row in table:
            print("  ".join(row[i].ljust(widths[i]) for i in range(5)) + ("  " + row[5] if row[5] else ""))
    if problems:
        print(f"imagebot: {problems} unit(s) could not be assessed", file=sys.stderr)
    for _, error in failures:
        print(f"imagebot: {error}", file=sys.stderr)
    return 1 if problems or failures else 0
