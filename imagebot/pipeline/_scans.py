"""The scan step of a run and what is recorded about it: list the tags the automations' policies
need (once per ImageRepository), and remember each scan's and each automation's outcome for
``imagebot status``. Called by :func:`imagebot.pipeline.run` and the scheduler's scan job."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping, Sequence

from imagebot import config, scan
from imagebot.model import flux
from imagebot.model.ids import ObjectKey
from imagebot.model.scans import ScanResult
from imagebot.model.status import AutomationStatus, PolicyStatus, RepositoryStatus
from imagebot.pipeline._automation import AutomationReport
from imagebot.pipeline._select import policies_for
from imagebot.state import StateStore

__all__ = ["record_automation", "record_scans", "repositories_for", "scan_for", "scan_repositories"]

logger = logging.getLogger("imagebot.pipeline")


def repositories_for(
    cfg: config.Config, automations: Iterable[flux.ImageUpdateAutomation],
) -> list[flux.ImageRepository]:
    """The ImageRepositories the automations' policies use that are not suspended, once each."""
    wanted = {p.repository for a in automations for p in policies_for(cfg, a)}
    repositories = [cfg.image_repositories[key] for key in sorted(wanted)]
    for repo in repositories:
        if repo.suspend:
            logger.info("ImageRepository %s is suspended; using the state store only", repo.key)
    return [r for r in repositories if not r.suspend]


def scan_for(
    cfg: config.Config,
    automations: Iterable[flux.ImageUpdateAutomation],
    *,
    keychain: config.Keychain,
    secrets: config.SecretStore,
    state: StateStore | None,
    options: scan.ScanOptions,
    registry: scan.Session | None = None,
) -> dict[ObjectKey, ScanResult]:
    """Scan every ImageRepository the automations' policies use, once each (on ``registry``, a
    session the caller keeps open for the digest look-ups that follow, when given)."""
    active = repositories_for(cfg, automations)
    if registry is not None:
        results = registry.scan_all(active, state=state, options=options)
    else:
        results = scan.scan_all(active, credentials=keychain.lookup, settings=cfg.registries,
                                state=state, options=options, tls=secrets.tls_for(active))
    return {result.key: result for result in results}


def scan_repositories(
    cfg: config.Config,
    repositories: Sequence[flux.ImageRepository],
    *,
    secrets: config.SecretStore,
    state: StateStore,
    options: scan.ScanOptions | None = None,
    now: datetime.datetime | None = None,
) -> dict[ObjectKey, ScanResult]:
    """Scan these ImageRepositories (suspended ones are skipped) and record how each went.

    The scheduler's scan job: one repository at its interval, or the ones a webhook named.
    """
    active = [r for r in repositories if not r.suspend]
    # tags only by default: digests are looked up by the runs, for the tags policies select
    options = options or scan.ScanOptions(digests="none")
    results = scan.scan_all(active, credentials=config.Keychain(secrets).lookup, settings=cfg.registries,
                            state=state, options=options, tls=secrets.tls_for(active))
    found = {result.key: result for result in results}
    record_scans(state, found.values(), now=now or datetime.datetime.now(datetime.UTC))
    return found


def record_scans(state: StateStore, results: Iterable[ScanResult], *, now: datetime.datetime) -> None:
    """Remember each scan's outcome for ``imagebot status``."""
    state.record_repositories(
        RepositoryStatus(r.key, r.image.name, now, len(r.tags.tags) if r.tags is not None else None,
                         r.error, now if r.error is None else None)
        for r in results
    )


def record_automation(
    state: StateStore, cfg: config.Config, automation: flux.ImageUpdateAutomation,
    report: AutomationReport | None, scans: Mapping[ObjectKey, ScanResult], *, error: str | None,
    now: datetime.datetime,
) -> None:
    """Remember what an automation run did (or why it failed) and each policy's choice."""
    policies: list[PolicyStatus] = []
    evaluated = {e.policy: e for e in report.evaluations} if report is not None else {}
    for spec in policies_for(cfg, automation):
        evaluation = evaluated.get(spec.key)
        if evaluation is None:
            result = scans.get(spec.repository)
            why = (result.error if result is not None else None) or error or "not evaluated"
            policies.append(PolicyStatus(spec.key, now, None, error=why))
            continue
        held = tuple(f"{c.tag} (eligible at {c.eligible_at.isoformat() if c.eligible_at else '?'})"
                     for c in evaluation.trace.held_back)
        latest = evaluation.selection.tag if evaluation.selection is not None else None
        policies.append(PolicyStatus(spec.key, now, latest, evaluation.reason, held))
    state.record_policies(policies)
    changed = report is not None and bool(report.changes.files)
    commit = str(report.revision) if report is not None and report.revision and changed else None
    pull = " ".join(p.url for p in report.pull_requests) if report is not None else ""
    state.record_automation(AutomationStatus(
        automation.key, now, error, commit, pull or None, now if commit or pull else None,
    ))
