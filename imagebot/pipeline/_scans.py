"""The scan step of a run and what is recorded about it: list the tags the automations' policies
need (once per ImageRepository), and remember each scan's and each automation's outcome for
``imagebot status``. Called by :func:`imagebot.pipeline.run` and the scheduler's scan job."""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from imagebot import config, scan
from imagebot.model import flux
from imagebot.model.ids import ObjectKey
from imagebot.model.images import TagList
from imagebot.model.registries import RegistrySettings
from imagebot.model.scans import ScanResult, SharedListing
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
    share: bool = False,
) -> dict[ObjectKey, ScanResult]:
    """Scan every ImageRepository the automations' policies use, once each (on ``registry``, a
    session the caller keeps open for the digest look-ups that follow, when given).

    ``share`` (shards of one run, ``--shard``): a repository another process sharing ``state``
    listed less than its ``interval`` ago is not listed again, and one it is listing right now
    is waited for (see :func:`_scan_shared`)."""
    active = repositories_for(cfg, automations)
    if registry is not None and share and state is not None:
        results = _scan_shared(active, cfg.registries, state=state,
                               scan_some=lambda some: registry.scan_all(some, state=state, options=options))
    elif registry is not None:
        results = registry.scan_all(active, state=state, options=options)
    else:
        results = scan.scan_all(active, credentials=keychain.lookup, settings=cfg.registries,
                                state=state, options=options, tls=secrets.tls_for(active))
    return {result.key: result for result in results}


_POLL = 0.2
"""Seconds between looks at a repository another shard is listing."""
_LEASE_MARGIN = datetime.timedelta(seconds=30)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str) -> bool:
    """False for a claim whose process is known to be gone (same host, no such pid)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: its lease decides
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fingerprint(repo: flux.ImageRepository, settings: RegistrySettings) -> str:
    """What shapes a listing: a listing made under another spec (exclusions, mirrors) is not reused."""
    shape = (repo.image.canonical, repo.exclusion_list, repo.include_artifacts, repo.insecure,
             settings.mirrors.get(repo.image.registry, ()), settings.max_tags)
    return hashlib.sha256(repr(shape).encode()).hexdigest()[:32]


def _scan_shared(
    active: Sequence[flux.ImageRepository],
    settings: RegistrySettings,
    *,
    state: StateStore,
    scan_some: Callable[[Sequence[flux.ImageRepository]], list[ScanResult]],
    sleep: Callable[[float], None] = time.sleep,
) -> list[ScanResult]:
    """Scan ``active`` with the other shards that share ``state`` (issue 11): each repository is
    claimed in the state store before it is listed; a shard that finds another's claim waits for
    its listing (or for the claim to expire: a crashed shard's work is taken over), and a listing
    younger than the repository's interval is reused. The reused tags get this shard's first-seen
    times and known digests from the same store, as a listing of its own would."""
    owner = _owner()
    found: dict[ObjectKey, ScanResult] = {}
    pending = list(active)
    while pending:
        now = datetime.datetime.now(datetime.UTC)
        mine: list[flux.ImageRepository] = []
        reused: list[ScanResult] = []
        waiting: list[flux.ImageRepository] = []
        for repo in pending:
            claim = state.claim_listing(repo.key, _fingerprint(repo, settings), owner=owner, now=now,
                                        fresh_for=repo.interval, lease_for=repo.timeout + _LEASE_MARGIN,
                                        alive=_alive)
            if claim is None:
                mine.append(repo)
            elif isinstance(claim, SharedListing):
                tags = TagList(repo.image, claim.tags, claim.scanned_at)
                reused.append(ScanResult(repo.key, repo.image, tags=tags, endpoint=claim.endpoint))
            else:
                waiting.append(repo)
        if reused:
            logger.info("%d ImageRepositories listed by another shard less than their interval ago; "
                        "their listings are reused", len(reused))
            found.update((r.key, r) for r in scan.remember(reused, state, now))
        if mine:
            _list_claimed(mine, settings, state=state, owner=owner, scan_some=scan_some, found=found)
        pending = waiting
        if pending:
            sleep(_POLL)
    return [found[repo.key] for repo in active]


def _list_claimed(
    mine: Sequence[flux.ImageRepository], settings: RegistrySettings, *, state: StateStore, owner: str,
    scan_some: Callable[[Sequence[flux.ImageRepository]], list[ScanResult]],
    found: dict[ObjectKey, ScanResult],
) -> None:
    """List the repositories this shard claimed, then share each listing (or drop the claim)."""
    try:
        results = scan_some(mine)
    except BaseException:
        for repo in mine:
            state.release_listing(repo.key, owner=owner)
        raise
    for repo, result in zip(mine, results, strict=True):
        found[result.key] = result
        if result.tags is None:  # failed: the next shard that asks lists it itself
            state.release_listing(repo.key, owner=owner)
        else:
            listing = SharedListing(result.tags.tags, result.tags.scanned_at, result.endpoint)
            state.store_listing(repo.key, _fingerprint(repo, settings), listing, owner=owner)


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
