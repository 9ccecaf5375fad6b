"""Show each Application / Kustomization against the cluster: revision, sync status, health, why.

Renders every unit at its Git revision (as 'imagebot sync' would), compares each object with
the live one by a server-side dry-run apply, and rolls up the health of the live objects with
Argo CD's rules. Changes nothing. Applications an ApplicationSet generated name it (APPSET).
Without a kubeconfig, every Application (generated ones included) is listed with its source and
destination, sync status and health Unknown — or, with --state, as 'imagebot serve' last saw it.
LAST SYNC is the last sync 'imagebot serve' ran, from the state store given with --state.

Exit status: 0 listed (whatever the status), 1 some unit could not be assessed or some
ApplicationSet generated nothing, 2 the configuration is invalid.

examples:
  imagebot apps
  imagebot apps argocd/shop-dev --json
  imagebot apps --config policies --json          no cluster: what the ApplicationSets generate
  imagebot apps --state /data/state.db            no cluster: what serve last saw
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
from imagebot.model.cluster import AppState, UnitStatus
from imagebot.model.flux import GitRef
from imagebot.state import StateStore

_NO_CLUSTER = "no kubeconfig: sync status and health are not known"


def configure(parser: argparse.ArgumentParser) -> None:
    add_source_options(parser)


def _revision(ref: GitRef) -> str:
    return ref.commit or ref.name or ref.semver or ref.tag or ref.branch or "HEAD"


def _recorded(args: argparse.Namespace) -> dict[str, AppState]:
    """What serve (or sync/apps --state) recorded in the --state store; nothing without --state."""
    path: Path | None = args.state
    if path is None or not path.is_file():
        return {}
    with StateStore(path) as store:
        return store.apps()


def _stored_row(unit: sync.SyncUnit, state: AppState | None) -> UnitStatus:
    if state is None:
        return UnitStatus(unit=unit.name, revision="", sync="Unknown", health="Unknown", why=(_NO_CLUSTER,))
    return UnitStatus(unit=unit.name, revision=state.revision, sync=state.sync, health=state.health,
                      why=state.why, synced_revision=state.synced_revision)


def _last_sync(state: AppState | None) -> str:
    if state is None or state.last_result is None:
        return "-"
    when = state.last_synced_at.strftime("%Y-%m-%d %H:%M:%S") if state.last_synced_at else "?"
    return f"{state.last_result} {when}"


def _last_json(state: AppState) -> dict[str, object]:
    return {"checkedAt": state.checked_at.isoformat(), "result": state.last_result,
            "at": state.last_synced_at.isoformat() if state.last_synced_at else None,
            "error": state.last_error}


def _with_last(row: dict[str, object], state: AppState | None) -> dict[str, object]:
    """``lastSync`` only for units the state store has a record of (--state)."""
    return row if state is None else {**row, "lastSync": _last_json(state)}


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
        recorded = _recorded(args)
        rows = [_stored_row(u, recorded.get(u.name)) for u in units]
        return _print(rows, units, appset_failures(args), args, problems=0, recorded=recorded)
    clusters = Clusters(kubeconfig, args.context)
    try:
        settled = settle(args, clusters, write=False)  # the Applications the records and policies give
        units = selected_units(args, settled.applications)
        rows, problems = _assess(units, args, clusters)
    finally:
        clusters.close()
    return _print(rows, units, appset_failures(args, settled.failures), args, problems=problems,
                  recorded=_recorded(args))


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
           args: argparse.Namespace, *, problems: int, recorded: dict[str, AppState]) -> int:
    by_name = {u.name: u for u in units}
    if args.json:
        print(json.dumps([_with_last(_row_json(by_name.get(r.unit), r), recorded.get(r.unit)) for r in rows],
                         indent=2))
    else:
        table: list[tuple[str, ...]] = [("APP", "APPSET", "REVISION", "SYNC", "HEALTH", "LAST SYNC", "WHY")]
        for r in rows:
            unit = by_name.get(r.unit)
            revision = r.revision[:12] or "-"
            if r.synced_revision and r.synced_revision != r.revision:
                revision += f" (synced {r.synced_revision[:12]})"
            app_set = str(unit.application_set) if unit is not None and unit.application_set else "-"
            table.append((r.unit, app_set, revision, r.sync, r.health, _last_sync(recorded.get(r.unit)),
                          "; ".join(r.why)))
        if args.state is None:  # LAST SYNC comes from the state store: no --state, no column
            table = [row[:5] + row[6:] for row in table]
        columns = len(table[0]) - 1
        widths = [max(len(row[i]) for row in table) for i in range(columns)]
        for row in table:
            print("  ".join(row[i].ljust(widths[i]) for i in range(columns))
                  + ("  " + row[columns] if row[columns] else ""))
    if problems:
        print(f"imagebot: {problems} unit(s) could not be assessed", file=sys.stderr)
    for _, error in failures:
        print(f"imagebot: {error}", file=sys.stderr)
    return 1 if problems or failures else 0
