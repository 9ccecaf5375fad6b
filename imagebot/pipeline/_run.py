"""The run core: ``run(config, *, secrets, state, automations, options) -> RunReport``.

The one entry every runtime calls (the ``run`` and ``plan`` commands, ``serve``, the GitHub Action
and ``sync``): it builds what a run needs from the loaded configuration — keychain, workspaces,
forge clients, signing keys — scans once, and runs each automation, collecting failures instead
of raising them.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from imagebot import config, git, policy, publish, scan, setters
from imagebot.errors import ConfigError, ImagebotError
from imagebot.model import flux
from imagebot.model.history import Rollback
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.pullrequests import PullRequestConfig
from imagebot.model.scans import ScanResult, TagFacts
from imagebot.pipeline._automation import AutomationOptions, AutomationReport, run_automation
from imagebot.pipeline._digests import DigestPolicy, Refresh
from imagebot.pipeline._gates import Gate, promotion_gate
from imagebot.pipeline._scans import record_automation, record_scans, repositories_for, scan_for
from imagebot.pipeline._select import policies_for
from imagebot.pipeline._workspace import open_workspace
from imagebot.state import StateStore

__all__ = ["Failure", "RunOptions", "RunReport", "run"]


@dataclasses.dataclass(frozen=True, slots=True)
class RunOptions:
    """How a whole run goes; every field has the CLI's default."""

    dry_run: bool = False
    """Compute the diff and the commit message; write, commit and push nothing (``plan``)."""
    push: bool = True
    """Push after committing (``False``: commit in the work tree only)."""
    pull_request: bool = False
    """Open/update pull requests for every automation (a ``PullRequest`` object does it for one)."""
    repo: str | None = None
    """A path or URL that replaces the automations' GitRepository; a work tree is used in place."""
    workdir: Path | None = None
    """Where clones are kept and reused (default: ``git/`` in :func:`imagebot.config.home`)."""
    digests: DigestPolicy = "selected"
    """Which digests are looked up (see :data:`DigestPolicy`)."""
    push_attempts: int = 5
    sleep: Callable[[float], None] = time.sleep
    now: datetime.datetime | None = None
    """The run's clock (cooldowns, first-seen times); default: now."""
    before_push: Callable[[], None] | None = None
    """Called right before each push (see :class:`AutomationOptions`)."""
    observe: scan.RequestObserver | None = None
    """Told about every registry request of the scan (the service's metrics)."""
    share_scans: bool = False
    """One shard of several (``--shard``): list an ImageRepository only when no process sharing
    the state store listed it less than its interval ago or is listing it now."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Holds:
    """What holds changes back this run: rolled-back tags and promotion gates (state store)."""

    rollbacks: Mapping[ObjectKey, Rollback]
    gate: Gate


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """An image repository that failed to scan or an automation that failed; the others went on
    (``state``: the state store could not record, the run's work is done)."""

    kind: Literal["automation", "repository", "state"]
    key: ObjectKey
    error: str

    def __str__(self) -> str:
        return self.error if self.kind == "state" else f"{self.key}: {self.error}"


@dataclasses.dataclass(frozen=True, slots=True)
class RunReport:
    """What a whole run saw and did: one report per automation that ran, and every failure."""

    automations: tuple[AutomationReport, ...]
    failures: tuple[Failure, ...]
    """A repository that failed to scan, an automation that failed to publish (``str()``: one line)."""
    scans: Mapping[ObjectKey, ScanResult] = dataclasses.field(default_factory=dict)
    errors: tuple[ImagebotError, ...] = ()
    """The errors behind the automations' failures (the scheduler backs off by their class)."""

    @property
    def ok(self) -> bool:
        return not self.failures and not any(r.changes.errors for r in self.automations)


def run(
    cfg: config.Config,
    *,
    secrets: config.SecretStore,
    state: StateStore,
    automations: Sequence[flux.ImageUpdateAutomation],
    options: RunOptions | None = None,
) -> RunReport:
    """Scan once, then run each automation; a failure is reported, never raised, so one broken
    automation never stops the others. A configuration error (:class:`ConfigError`) is raised:
    nothing should run on a configuration that cannot be used.

    ::

        with StateStore(path) as store:
            report = pipeline.run(cfg, secrets=config.SecretStore(dir), state=store,
                                  automations=list(cfg.automations.values()))
    """
    options = options or RunOptions()
    for automation in automations:
        for spec in policies_for(cfg, automation):
            policy.validate(spec)  # a bad range or regex stops the run before any network call
    keychain = config.Keychain(secrets)
    now = options.now or datetime.datetime.now(datetime.UTC)
    # the scan lists tags; digests are looked up for the few tags the policies select (issue 9:
    # a first run used to HEAD every tag of every repository and time out), over the scan's own
    # client: its connections, pings and tokens serve the look-ups too
    active = repositories_for(cfg, automations)
    with scan.Session(active, credentials=keychain.lookup, settings=cfg.registries,
                      tls=secrets.tls_for(active), observe=options.observe) as registry:
        scans = scan_for(cfg, automations, keychain=keychain, secrets=secrets, state=state,
                         options=scan.ScanOptions(digests="all" if options.digests == "all" else "none"),
                         registry=registry, share=options.share_scans)
        failures = [Failure("repository", r.key, r.error) for r in scans.values() if r.error]
        record_scans(state, scans.values(), now=now)

        def refresh(
            wanted: Sequence[tuple[flux.ImageRepository, Sequence[Tag]]], *, sources: bool,
        ) -> dict[ObjectKey, TagFacts]:
            fresh = registry.refresh(wanted, sources=sources)
            state.record_digests({r.image.canonical: fresh[r.key].digests
                                  for r, _ in wanted if r.key in fresh})
            return fresh

        holds = _Holds(state.rollbacks(), promotion_gate(cfg, state))
        reports: list[AutomationReport] = []
        errors: list[ImagebotError] = []
        documents = setters.Documents()  # each marked file is parsed once per run, whoever reads it
        for automation in automations:
            try:
                report = _run_one(automation, cfg, scans, secrets, options, now=now,
                                  refresh=refresh if options.digests != "none" else None, documents=documents,
                                  holds=holds)
            except ConfigError:
                raise
            except ImagebotError as exc:
                failures.append(Failure("automation", automation.key, str(exc)))
                errors.append(exc)
                if not options.dry_run:
                    record_automation(state, cfg, automation, None, scans, error=str(exc), now=now)
                continue
            reports.append(report)
            if not options.dry_run:
                problems = "; ".join(str(p) for p in report.changes.errors) or None
                record_automation(state, cfg, automation, report, scans, error=problems, now=now)
    return RunReport(tuple(reports), tuple(failures), scans, tuple(errors))


def _run_one(
    automation: flux.ImageUpdateAutomation, cfg: config.Config, scans: Mapping[ObjectKey, ScanResult],
    secrets: config.SecretStore, options: RunOptions, *, now: datetime.datetime, refresh: Refresh | None,
    documents: setters.Documents, holds: _Holds | None = None,
) -> AutomationReport:
    with open_workspace(automation, cfg, secrets, repo=options.repo,
                        workdir=options.workdir) as workspace:  # the clone is locked till done
        return _run_in(workspace, automation, cfg=cfg, scans=scans, secrets=secrets, options=options,
                       now=now, refresh=refresh, documents=documents, holds=holds)


def _run_in(
    workspace: git.Workspace, automation: flux.ImageUpdateAutomation, *, cfg: config.Config,
    scans: Mapping[ObjectKey, ScanResult], secrets: config.SecretStore, options: RunOptions,
    now: datetime.datetime, refresh: Refresh | None, documents: setters.Documents,
    holds: _Holds | None = None,
) -> AutomationReport:
    pr = cfg.pull_requests.get(automation.key)
    if pr is None and options.pull_request:
        pr = PullRequestConfig(key=automation.key)
    signing = (config.signing_key(secrets, automation.commit.signing_key_secret)
               if automation.commit.signing_key_secret else None)
    automation_options = AutomationOptions(
        dry_run=options.dry_run, push=options.push, pull_request=pr, signing_key=signing,
        push_attempts=options.push_attempts, sleep=options.sleep, refresh=refresh,
        before_push=options.before_push, rollbacks=holds.rollbacks if holds else {},
        gate=holds.gate if holds else None,
    )

    def forge() -> publish.Forge:
        assert pr is not None
        return publish.forge_for(pr, workspace.url, lambda: config.forge_credentials(secrets, pr.forge))

    return run_automation(automation, cfg=cfg, scans=scans, workspace=workspace, options=automation_options,
                          forge=forge if pr is not None else None, now=now, documents=documents)
