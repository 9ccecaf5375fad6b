"""The tasks of one sync in phases and waves, and running the hooks among them.

gitops-engine's sync context orders every task by phase (PreSync, Sync, PostSync; SyncFail only
after a failure), then wave, then kind; ordinary objects belong to the Sync phase. A step is one
(phase, wave). :func:`steps` builds them; the reconcile loop applies each step's ordinary objects
itself and calls :func:`start_hook` for its hooks, then :func:`wait` until the step is done:
hooks completed (always) and ordinary objects healthy (when a later step follows). A hook's
result comes from its health (gitops-engine ``getOperationPhase``): Healthy or no health is
Succeeded, Degraded or Unknown is Failed, anything else is still running. :func:`clean_up`
applies the delete policies once the sync is over, by the result of the whole sync;
:func:`wait_deleted` holds the PostSync hooks until what prune deleted is gone. Called by
:mod:`imagebot.sync._reconcile`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from imagebot import errors
from imagebot.model import health as health_model
from imagebot.model.cluster import ApplyOutcome, ObjectRef
from imagebot.sync import _health, _hooks, _order, _tracking
from imagebot.sync._cluster import KubernetesCluster
from imagebot.sync._render import Manifest, Render

__all__ = ["HookRun", "Task", "clean_up", "start_hook", "steps", "wait", "wait_deleted"]

_PHASE_RANK = {phase: rank for rank, phase in enumerate(_hooks.PHASES)}
Healthy = health_model.HealthStatus.HEALTHY
Degraded = health_model.HealthStatus.DEGRADED
Unknown = health_model.HealthStatus.UNKNOWN


@dataclasses.dataclass(frozen=True, slots=True)
class Task:
    """One object to apply in one phase: an ordinary object (phase Sync) or a hook."""

    manifest: Manifest
    phase: str
    hook: bool

    @property
    def ref(self) -> ObjectRef:
        return self.manifest.ref

    @property
    def wave(self) -> int:
        return self.manifest.info.wave


@dataclasses.dataclass
class HookRun:
    """A hook started in this sync: ``done`` once it completed, ``ok`` whether it succeeded."""

    task: Task
    done: bool = False
    ok: bool = False
    message: str = ""
    replaced: bool = False

    def outcome(self, extra: str = "") -> ApplyOutcome:
        said = f"{self.task.phase} hook"
        if self.done and self.ok:
            return ApplyOutcome(self.task.ref, "hook", "; ".join(
                p for p in (f"{said}: Succeeded", self.message, extra) if p))
        if self.done:
            failed = f"{said} failed: {self.message}" if self.message else f"{said} failed"
            return ApplyOutcome(self.task.ref, "failed", "; ".join(p for p in (failed, extra) if p))
        return ApplyOutcome(self.task.ref, "failed", f"{said} did not complete {self.message}".rstrip())


def _named(manifest: Manifest, render: Render, *, phase: str, revision: str, started: float) -> Manifest:
    if manifest.ref.name:
        return manifest
    body: dict[str, Any] = dict(manifest.body)
    meta = dict(body["metadata"])
    name = _hooks.hook_name(str(meta.pop("generateName")), revision=revision, phase=phase, started=started)
    ref = dataclasses.replace(manifest.ref, name=name)
    meta["name"] = name
    meta["annotations"] = {**(meta.get("annotations") or {}),
                           _tracking.ANNOTATION: _tracking.tracking_id(render.unit, ref)}
    body["metadata"] = meta
    return Manifest(body, dataclasses.replace(manifest.info, ref=ref))


def steps(render: Render, *, revision: str, started: float) -> list[tuple[tuple[str, int], list[Task]]]:
    """Every task of the sync grouped by (phase, wave) in run order; SyncFail hooks included."""
    tasks = [Task(m, "Sync", hook=False) for m in render.manifests]
    for manifest in render.hooks:
        for phase in _hooks.phases(manifest.body):
            named = _named(manifest, render, phase=phase, revision=revision, started=started)
            tasks.append(Task(named, phase, hook=True))

    def key(task: Task) -> tuple[int, tuple[int, int, str, str, str]]:
        return _PHASE_RANK[task.phase], _order.sort_key(task.manifest.info)

    ordered = sorted(tasks, key=key)
    return [(step, list(group)) for step, group in
            itertools.groupby(ordered, key=lambda t: (t.phase, t.wave))]


def start_hook(cluster: KubernetesCluster, task: Task, *, timeout: float, poll: float,
               sleep: Callable[[float], None], clock: Callable[[], float]) -> HookRun | ApplyOutcome:
    """Create the hook (deleting an earlier one first under ``BeforeHookCreation``)."""
    ref = task.ref
    run = HookRun(task)
    try:
        live = cluster.get(ref)
        if live is not None and "BeforeHookCreation" in _hooks.delete_policies(task.manifest.body):
            cluster.delete(ref, propagation="Foreground")
            deadline = clock() + timeout
            while cluster.get(ref) is not None:
                if clock() >= deadline:
                    return ApplyOutcome(ref, "failed", f"{task.phase} hook: the earlier {ref} was not "
                                        f"deleted after {timeout:.0f} s (BeforeHookCreation)")
                sleep(poll)
            run.replaced = True
        cluster.apply(task.manifest.body)
    except errors.ClusterError as exc:
        return ApplyOutcome(ref, "failed", f"{task.phase} hook: {exc}")
    return run


def _hook_state(live: Mapping[str, Any] | None) -> tuple[bool, bool, str]:
    """(done, ok, message) of a hook from its live object."""
    if live is None:
        return True, False, "deleted before it completed"
    assessed = _health.assess(live)
    if assessed is None or assessed.status == Healthy:
        return True, True, ""
    if assessed.status in (Degraded, Unknown):
        return True, False, assessed.message or str(assessed.status)
    return False, False, assessed.message


def wait(cluster: KubernetesCluster, refs: Sequence[ObjectRef], hooks: Sequence[HookRun], *,
         limit: float, poll: float, sleep: Callable[[float], None], clock: Callable[[], float]) -> str:
    """'' once every hook completed and every object in ``refs`` is healthy; else why the sync stops.

    A Degraded object or a failed hook stops at once (the hooks' runs say which failed)."""
    deadline = clock() + limit
    while True:
        waiting = []
        for run in hooks:
            if run.done:
                continue
            run.done, run.ok, run.message = _hook_state(cluster.get(run.task.ref))
            if run.done and not run.ok:
                return f"hook {run.task.ref} failed: {run.message}"
            if not run.done:
                waiting.append(f"{run.task.ref}: {run.message or 'running'}")
        for ref in refs:
            live = cluster.get(ref)
            if live is None:
                waiting.append(f"{ref}: missing")
                continue
            assessed = _health.assess(live)
            if assessed is None or assessed.status == Healthy:
                continue
            if assessed.status == Degraded:
                return f"is Degraded: {ref}: {assessed.message}"
            waiting.append(f"{ref}: {assessed.status} {assessed.message}".strip())
        if not waiting:
            return ""
        if clock() >= deadline:
            for run in hooks:
                if not run.done:
                    run.message = f"after {limit:.0f} s: {run.message or 'running'}"
            return f"was not healthy after {limit:.0f} s: {'; '.join(waiting)}"
        sleep(poll)


def wait_deleted(cluster: KubernetesCluster, refs: Sequence[ObjectRef], *, limit: float, poll: float,
                 sleep: Callable[[float], None], clock: Callable[[], float]) -> str:
    """'' once every object in ``refs`` is gone; else (after ``limit`` seconds) what still is.

    gitops-engine moves to the next phase only once what it pruned is gone: a foreground
    deletion ends when the dependents and finalizers are done."""
    deadline = clock() + limit
    while True:
        left = []
        for ref in refs:
            live = cluster.get(ref)
            if live is not None:
                finalizers = ", ".join((live.get("metadata") or {}).get("finalizers") or [])
                left.append(f"{ref} (finalizers: {finalizers})" if finalizers else str(ref))
        if not left:
            return ""
        if clock() >= deadline:
            return f"pruned objects still awaiting deletion after {limit:.0f} s: {'; '.join(left)}"
        sleep(poll)


def clean_up(cluster: KubernetesCluster, runs: Iterable[HookRun], *, succeeded: bool) -> list[ApplyOutcome]:
    """Each hook's outcome, after deleting the completed ones whose delete policy names the
    result of the whole sync (``succeeded``): ``HookSucceeded`` when it succeeded, ``HookFailed``
    when it failed, whatever the hook's own result — gitops-engine's rule, applied once the
    operation is over. A hook still running is left alone."""
    policy = "HookSucceeded" if succeeded else "HookFailed"
    outcomes = []
    for run in runs:
        notes = ["replaced the earlier one (BeforeHookCreation)"] if run.replaced else []
        if run.done and policy in _hooks.delete_policies(run.task.manifest.body):
            why = f"{policy}: the sync failed" if run.ok and not succeeded else policy
            try:
                cluster.delete(run.task.ref, propagation="Foreground")
                notes.append(f"deleted ({why})")
            except errors.ClusterError as exc:
                notes.append(f"not deleted ({why}): {exc}")
        outcomes.append(run.outcome("; ".join(notes)))
    return outcomes
