"""One sync of one unit: apply its render in order, prune what it no longer renders, record it.

:func:`sync_unit` follows Argo CD's operation (gitops-engine's sync context), one attempt after
the other under the unit's ``retry`` policy:

1. ``CreateNamespace=true`` creates the destination namespace (not tracked, never pruned);
2. objects are applied with server-side apply wave by wave, in kind and name order; a CRD is
   waited for until ``Established`` and discovery is refreshed; when another wave follows, the
   wave must become healthy first (bounded by the unit's timeout); a failed object or a Degraded
   wave stops the later waves;
3. prune (after the last wave, Argo CD's ``PruneLast`` order) deletes, with foreground
   propagation, the inventory entries no longer rendered that still carry this unit's tracking
   id — only when the unit prunes (``automated.prune``, Flux ``prune``, or ``--prune``), never
   after a failed apply, never when the render is empty unless ``allowEmpty``; objects with
   ``Prune=false`` or ``Delete=false`` stay, ``Prune=confirm`` waits for ``--confirm-prune``;
4. the inventory records what was applied plus what prune kept.

Resource hooks (:mod:`imagebot.sync._phases`) run around these steps: PreSync waves first, Sync
hooks with their wave, PostSync after prune once everything is healthy, SyncFail when the sync
failed; each step waits for its hooks to complete, and their delete policies apply at the end.

:func:`status` compares without changing anything (``imagebot apps``, ``sync --diff``). Called by
the ``sync`` and ``apps`` commands.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from imagebot import errors
from imagebot.model.cluster import ApplyOutcome, ObjectRef, SyncResult, UnitStatus
from imagebot.sync import _diff, _health, _inventory, _order, _phases, _tracking
from imagebot.sync._cluster import KubernetesCluster
from imagebot.sync._render import Manifest, Render
from imagebot.sync._units import SyncUnit

__all__ = ["SyncOptions", "prune", "status", "sync_unit"]

logger = logging.getLogger("imagebot.sync")


@dataclasses.dataclass(frozen=True, slots=True)
class SyncOptions:
    dry_run: bool = False
    """Server-side dry run of every apply and delete; nothing changes, no inventory written."""
    prune: bool = False
    """Prune even where the unit does not ask for it (``--prune``)."""
    confirm_prune: bool = False
    """Delete objects annotated ``Prune=confirm`` too (``--confirm-prune``)."""
    force: bool = False
    """Take over fields other managers own (server-side apply ``force``)."""
    diff: bool = False
    """Also compute a unified diff of live vs desired (before applying)."""
    wave_timeout: float = 300.0
    """How long a wave may take to become healthy before the sync fails (a unit's timeout wins)."""
    poll: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], float] = time.time
    """Wall-clock seconds: the start time in the names of ``generateName`` hooks."""


_CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")


def sync_unit(render: Render, revision: str, cluster: KubernetesCluster, options: SyncOptions) -> SyncResult:
    """Sync ``render`` (the unit's desired objects at ``revision``) to ``cluster``; a failed
    attempt is repeated as ``syncPolicy.retry`` says (``limit`` below 0: until one succeeds, as
    Argo CD; the command is then stopped by its caller's timeout or Ctrl-C)."""
    unit = render.unit
    retry = unit.retry if not options.dry_run else None
    limit = retry.limit if retry is not None else 0
    attempts = None if limit < 0 else 1 + limit
    shown = "unlimited" if attempts is None else str(attempts)
    delay = retry.duration.total_seconds() if retry is not None else 0.0
    attempt = 0
    while True:
        attempt += 1
        try:
            result = _attempt(render, revision, cluster, options)
        except errors.TemporaryError as exc:
            result = SyncResult(unit=unit.name, revision=revision, error=str(exc), dry_run=options.dry_run)
        if not result.failed or attempt == attempts:
            break
        assert retry is not None
        logger.info("%s: sync failed (attempt %d of %s: %s); retrying in %.0f s", unit.name, attempt, shown,
                    result.error, delay)
        options.sleep(delay)
        delay = min(delay * retry.factor, retry.max_duration.total_seconds())
    if not result.failed and not options.dry_run and (unit.wait or unit.health_checks):
        result = _flux_wait(render, result, cluster, options)
    return result


def _flux_wait(
    render: Render, result: SyncResult, cluster: KubernetesCluster, options: SyncOptions,
) -> SyncResult:
    """Flux ``wait: true`` (every applied object) or ``healthChecks`` (the listed ones) must be healthy."""
    unit = render.unit
    if unit.wait:
        refs = [m.ref for m in render.manifests]
    else:
        refs = [ObjectRef(c.api_version, c.kind, c.namespace or unit.namespace or unit.key.namespace, c.name)
                for c in unit.health_checks]
    problem = _wait_healthy(cluster, refs, options, unit.timeout)
    if not problem:
        return result
    return dataclasses.replace(result, error=f"health check failed: the objects {problem}")


def _attempt(render: Render, revision: str, cluster: KubernetesCluster, options: SyncOptions) -> SyncResult:
    unit = render.unit
    inventory = _inventory.read(cluster, unit)
    outcomes: list[ApplyOutcome] = []
    notes: list[str] = []
    diffs: list[str] = []
    desired = {m.ref.key for m in render.manifests}
    if options.diff:
        diffs = _diffs(render, cluster, inventory, options)
    if unit.option("CreateNamespace") and unit.namespace and not any(
            m.ref.kind == "Namespace" and m.ref.name == unit.namespace for m in render.manifests):
        outcomes.extend(_ensure_namespace(cluster, unit.namespace, options))
    steps = _phases.steps(render, revision=revision, started=options.now())
    fail_hooks = [t for (phase, _), tasks in steps if phase == "SyncFail" for t in tasks]
    steps = [(step, tasks) for step, tasks in steps if step[0] != "SyncFail"]
    runs: list[_phases.HookRun] = []
    kept: list[ObjectRef] = []
    stopped = error = ""
    pruned = False
    for index, ((phase, wave), tasks) in enumerate(steps):
        if phase == "PostSync" and not pruned:
            pruned = True
            prune_outcomes, kept, problem = _prune_step(render, cluster, inventory, options, notes=notes,
                                                        failed=bool(stopped) or _failed(outcomes))
            outcomes.extend(prune_outcomes)
            if problem and not stopped:
                stopped, error = f"not applied: {problem}", "" if problem == "prune failed" else problem
        if stopped:
            outcomes.extend(ApplyOutcome(t.ref, "skipped", stopped) for t in tasks)
            continue
        where = f"wave {wave}" if phase == "Sync" else f"{phase} wave {wave}"
        problem, step_outcomes = _run_step(cluster, tasks, runs, options, unit=unit,
                                           later=index + 1 < len(steps))
        outcomes.extend(step_outcomes)
        if problem:
            stopped = f"not applied: {where} {problem}"
            error = "" if problem == "failed" else f"{where} {problem}"
    if not pruned:
        prune_outcomes, kept = _prune(render, cluster, inventory, options,
                                      failed=bool(stopped) or _failed(outcomes), notes=notes)
        outcomes.extend(prune_outcomes)
    failed = bool(error) or _failed(outcomes) or any(r.done and not r.ok for r in runs)
    if failed and fail_hooks and not options.dry_run:
        problem, step_outcomes = _run_step(cluster, fail_hooks, runs, options, unit=unit, later=False)
        outcomes.extend(step_outcomes)
        if problem:
            notes.append(f"SyncFail {problem}")
    # in the order the hooks were started; a SyncFail hook's own failure does not change the result
    results = iter(_phases.clean_up(cluster, runs, succeeded=not failed))
    outcomes = [next(results) if o == ApplyOutcome(o.ref, "hook") else o for o in outcomes]
    message = "; ".join(notes)
    if not options.dry_run:
        entries = [m.ref for m in render.manifests] + [r for r in kept if r.key not in desired]
        _record(cluster, render, inventory, entries, revision=revision,
                failed=failed or _failed(outcomes), message=error or message)
    return SyncResult(unit=unit.name, revision=revision, outcomes=tuple(outcomes), message=message,
                      diff="".join(diffs), dry_run=options.dry_run, error=error or None)


def _record(cluster: KubernetesCluster, render: Render, inventory: _inventory.Inventory,
            entries: list[ObjectRef], *, revision: str, failed: bool, message: str) -> None:
    phase = "Failed" if failed else "Succeeded"
    unchanged = (inventory.exists and sorted(inventory.entries) == sorted(entries)
                 and (inventory.revision, inventory.phase, inventory.message) == (revision, phase, message))
    if not unchanged:  # a no-change resync writes nothing
        _inventory.write(cluster, render.unit, entries, revision=revision, phase=phase, message=message,
                         namespace_exists=inventory.exists)


def _prune_step(
    render: Render, cluster: KubernetesCluster, inventory: _inventory.Inventory, options: SyncOptions, *,
    failed: bool, notes: list[str],
) -> tuple[list[ApplyOutcome], list[ObjectRef], str]:
    """Prune before the PostSync hooks, which run once what it deleted is gone (gitops-engine
    waits for deletions before the next phase): the outcomes, what prune kept, and why the sync
    stops ('' to go on)."""
    outcomes, kept = _prune(render, cluster, inventory, options, failed=failed, notes=notes)
    if _failed(outcomes):
        return outcomes, kept, "prune failed"
    gone = [o.ref for o in outcomes if o.action == "pruned"]
    if failed or options.dry_run or not gone:
        return outcomes, kept, ""
    problem = _phases.wait_deleted(cluster, gone, limit=_limit(render.unit, options), poll=options.poll,
                                   sleep=options.sleep, clock=options.clock)
    return outcomes, kept, problem


def _limit(unit: SyncUnit, options: SyncOptions) -> float:
    """How long a step may take: the unit's ``timeout`` (Flux), else ``--wave-timeout``."""
    return unit.timeout.total_seconds() if unit.timeout is not None else options.wave_timeout


def _failed(outcomes: Sequence[ApplyOutcome]) -> bool:
    return any(o.action == "failed" for o in outcomes)


def _run_step(cluster: KubernetesCluster, tasks: Sequence[_phases.Task], runs: list[_phases.HookRun],
              options: SyncOptions, *, unit: SyncUnit, later: bool) -> tuple[str, list[ApplyOutcome]]:
    """Apply one (phase, wave) step and wait for it; '' or why the sync stops, and the outcomes."""
    outcomes: list[ApplyOutcome] = []
    started: list[_phases.HookRun] = []
    limit = _limit(unit, options)
    for task in tasks:
        if not task.hook:
            outcomes.append(_apply_one(cluster, task.manifest, options,
                                       out_of_sync_only=unit.option("ApplyOutOfSyncOnly")))
        elif options.dry_run:
            outcomes.append(ApplyOutcome(task.ref, "hook", f"{task.phase} hook: not run (dry run)"))
        else:
            run = _phases.start_hook(cluster, task, timeout=limit, poll=options.poll, sleep=options.sleep,
                                     clock=options.clock)
            if isinstance(run, ApplyOutcome):
                outcomes.append(run)
                continue
            started.append(run)
            runs.append(run)
            outcomes.append(ApplyOutcome(task.ref, "hook"))  # replaced by its result at the end
    if _failed(outcomes):
        return "failed", outcomes
    if options.dry_run or not (started or later):
        return "", outcomes
    refs = [t.ref for t in tasks if not t.hook] if later else []
    return _phases.wait(cluster, refs, started, limit=limit, poll=options.poll, sleep=options.sleep,
                        clock=options.clock), outcomes


def _ensure_namespace(cluster: KubernetesCluster, name: str, options: SyncOptions) -> list[ApplyOutcome]:
    ref = ObjectRef("v1", "Namespace", "", name)
    if cluster.get(ref) is not None:
        return []
    if not options.dry_run:
        try:
            cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        except errors.ClusterError as exc:
            return [ApplyOutcome(ref, "failed", str(exc))]
    return [ApplyOutcome(ref, "created", "CreateNamespace=true")]


def _apply_one(cluster: KubernetesCluster, manifest: Manifest, options: SyncOptions, *,
               out_of_sync_only: bool) -> ApplyOutcome:
    ref = manifest.ref
    try:
        live = cluster.get(ref)
        if live is not None and (out_of_sync_only or options.dry_run):
            predicted = cluster.apply(manifest.body, dry_run=True, force=options.force)
            if _diff.normalise(predicted, ref, ()) == _diff.normalise(live, ref, ()):
                return ApplyOutcome(ref, "unchanged")
            if options.dry_run:
                return ApplyOutcome(ref, "configured")
        if live is None and options.dry_run:
            # a namespace created earlier in this dry run does not exist: nothing to ask the server
            return ApplyOutcome(ref, "created")
        result = cluster.apply(manifest.body, dry_run=options.dry_run, force=options.force)
    except errors.ApplyConflict as exc:
        return ApplyOutcome(ref, "failed", f"{exc} (--force takes the fields over)")
    except errors.ClusterError as exc:
        return ApplyOutcome(ref, "failed", str(exc))
    if (ref.group, ref.kind) == _CRD and not options.dry_run:
        problem = _wait_established(cluster, ref, options)
        cluster.refresh()
        if problem:
            return ApplyOutcome(ref, "failed", problem)
    if live is None:
        return ApplyOutcome(ref, "created")
    version = (result.get("metadata") or {}).get("resourceVersion")
    unchanged = version == (live.get("metadata") or {}).get("resourceVersion")
    return ApplyOutcome(ref, "unchanged" if unchanged else "configured")


def _wait_established(cluster: KubernetesCluster, ref: ObjectRef, options: SyncOptions) -> str:
    deadline = options.clock() + 30.0
    while True:
        live = cluster.get(ref) or {}
        conditions = (live.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
            return ""
        if options.clock() >= deadline:
            return f"{ref}: not Established after 30 s"
        options.sleep(min(options.poll, 0.5))


def _wait_healthy(cluster: KubernetesCluster, refs: Sequence[ObjectRef], options: SyncOptions,
                  timeout: Any) -> str:
    """'' once every object is healthy; otherwise why the sync must stop."""
    limit = timeout.total_seconds() if timeout is not None else options.wave_timeout
    return _phases.wait(cluster, refs, (), limit=limit, poll=options.poll, sleep=options.sleep,
                        clock=options.clock)


def _prune(render: Render, cluster: KubernetesCluster, inventory: _inventory.Inventory, options: SyncOptions,
           *, failed: bool, notes: list[str]) -> tuple[list[ApplyOutcome], list[ObjectRef]]:
    unit = render.unit
    desired = _in_git(render)
    candidates = [r for r in inventory.entries if r.key not in desired]
    if not candidates:
        return [], []
    enabled = unit.prune or options.prune
    if not render.manifests and not unit.allow_empty:
        notes.append(f"the render is empty: nothing pruned ({len(candidates)} object(s) kept; set "
                     "syncPolicy.automated.allowEmpty to allow)")
        return [ApplyOutcome(r, "prune-skipped", "empty render") for r in candidates], candidates
    if failed:
        skipped = [ApplyOutcome(r, "prune-skipped", "the sync failed; nothing pruned") for r in candidates]
        return skipped, candidates
    outcomes: list[ApplyOutcome] = []
    kept: list[ObjectRef] = []
    rank = {kind: index for index, kind in enumerate(_order.KIND_ORDER)}
    ordered = sorted(candidates, reverse=True,
                     key=lambda r: (rank.get(r.kind, len(rank)), r.namespace, r.name))
    for ref in ordered:
        try:
            live = cluster.get(ref)
        except errors.ClusterError as exc:
            outcomes.append(ApplyOutcome(ref, "failed", str(exc)))
            kept.append(ref)
            continue
        if live is None:
            continue  # already gone
        if not _tracking.owned_by(live, ref, unit.tracking_name):
            why = "not owned: its tracking id names another owner"
            outcomes.append(ApplyOutcome(ref, "prune-skipped", why))
            continue
        reason = _held(live, options)
        if reason:
            outcomes.append(ApplyOutcome(ref, "prune-skipped", reason))
            kept.append(ref)
        elif not enabled:
            why = "requires pruning (automated.prune is off; --prune)"
            outcomes.append(ApplyOutcome(ref, "would-prune", why))
            kept.append(ref)
        elif options.dry_run:
            outcomes.append(ApplyOutcome(ref, "pruned", "dry run"))
            kept.append(ref)
        else:
            try:
                cluster.delete(ref, propagation="Foreground")
                outcomes.append(ApplyOutcome(ref, "pruned"))
            except errors.ClusterError as exc:
                outcomes.append(ApplyOutcome(ref, "failed", f"prune: {exc}"))
                kept.append(ref)
    return outcomes, kept


prune = _prune
"""Prune ``render``'s unit's inventory entries it no longer renders (also how an Application an
ApplicationSet dropped is deleted, :mod:`._deletion`)."""


def _in_git(render: Render) -> set[tuple[str, str, str, str]]:
    """What the render still holds: a hook or a ``Skip`` object is never pruned, even if an earlier
    sync applied it as an ordinary object."""
    return {m.ref.key for m in (*render.manifests, *render.hooks)} | {r.key for r in render.skipped}


def _held(live: Mapping[str, Any], options: SyncOptions) -> str:
    flags = _tracking.object_options(live)
    if "Prune=false" in flags:
        return "Prune=false"
    if "Delete=false" in flags:
        return "Delete=false"
    if "Prune=confirm" in flags and not options.confirm_prune:
        return "Prune=confirm: held until --confirm-prune"
    return ""


def _diffs(render: Render, cluster: KubernetesCluster, inventory: _inventory.Inventory,
           options: SyncOptions) -> list[str]:
    unit = render.unit
    out = []
    for manifest in sorted(render.manifests, key=lambda m: _order.sort_key(m.info)):
        ref = manifest.ref
        try:
            live = cluster.get(ref)
            predicted = (cluster.apply(manifest.body, dry_run=True, force=True) if live is not None
                         else manifest.body)
        except errors.ClusterError as exc:
            out.append(f"# {ref}: cannot diff: {exc}\n")
            continue
        before = _diff.normalise(live, ref, unit.ignore)
        out.append(_diff.unified(before, _diff.normalise(predicted, ref, unit.ignore, live=live), ref))
    desired = _in_git(render)
    for ref in inventory.entries:
        if ref.key in desired:
            continue
        live = cluster.get(ref)
        if live is not None and _tracking.owned_by(live, ref, unit.tracking_name):
            out.append(_diff.unified(_diff.normalise(live, ref, unit.ignore), None, ref))
    return out


def status(render: Render, revision: str, cluster: KubernetesCluster) -> UnitStatus:
    """Sync status and health of a unit against the live cluster; changes nothing."""
    unit = render.unit
    inventory = _inventory.read(cluster, unit)
    why: list[str] = []
    out_of_sync = False
    drifted = False  # something other than pruning
    resources = []
    for manifest in render.manifests:
        ref = manifest.ref
        live = cluster.get(ref)
        if live is None:
            out_of_sync = drifted = True
            why.append(f"{ref}: missing")
            resources.append(_health.missing(kind=ref.kind, name=ref.name, namespace=ref.namespace,
                                             group=ref.group))
            continue
        resources.append(_health.resource_health(live))
        try:
            predicted = cluster.apply(manifest.body, dry_run=True, force=True)
        except errors.ClusterError as exc:
            why.append(f"{ref}: {exc}")
            continue
        if _diff.normalise(predicted, ref, unit.ignore, live=live) != _diff.normalise(live, ref, unit.ignore):
            out_of_sync = drifted = True
            why.append(f"{ref}: differs from Git")
    desired = _in_git(render)
    for ref in inventory.entries:
        if ref.key not in desired:
            live = cluster.get(ref)
            if live is not None and _tracking.owned_by(live, ref, unit.tracking_name):
                out_of_sync = True
                why.append(f"{ref}: requires pruning")
    summary = _health.rollup(resources)
    if summary.why:
        why.append(summary.why)
    return UnitStatus(unit=unit.name, revision=revision, sync="OutOfSync" if out_of_sync else "Synced",
                      health=str(summary.status), why=tuple(why), synced_revision=inventory.revision,
                      pruning_only=out_of_sync and not drifted)
