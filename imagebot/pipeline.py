"""The only module that knows the order of the stages: scan → policy → setters → publish.

``run(config, secrets=…, state=…, automations=…, options=…)`` is the one entry every runtime
calls (the ``run`` and ``plan`` commands, and later ``serve``, the GitHub Action and ``sync``): it
builds what a run needs from the loaded configuration — keychain, workspaces, forge clients,
signing keys — scans once, and runs each automation, collecting failures instead of raising them.
``scan_for(config, automations, ...)`` lists the tags the automations need; ``run_automation``
then, for one ImageUpdateAutomation in a checked-out :class:`~imagebot.git.Workspace`, evaluates
its policies, rewrites the marked fields, and commits and pushes — or pushes the bot's own branch
and opens/updates a pull request. Called by the ``run`` and ``plan`` commands (and later the
scheduler). A policy that selects nothing leaves its fields alone; nothing to change means no
commit and no push.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import difflib
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal, Protocol

from imagebot import config, git, policy, publish, scan, setters
from imagebot.errors import ConfigError, GitError, ImagebotError
from imagebot.model import flux, gitauth
from imagebot.model.changes import ChangeSet
from imagebot.model.flux import GitRef
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.images import ImageRef, ImageRepo, TagList
from imagebot.model.pullrequests import PullRequestConfig
from imagebot.model.revisions import PullRequestRef, Revision
from imagebot.model.scans import ScanResult, TagFacts
from imagebot.model.selections import Evaluation, Selection
from imagebot.model.status import AutomationStatus, PolicyStatus, RepositoryStatus
from imagebot.state import StateStore

__all__ = [
    "AutomationOptions",
    "AutomationReport",
    "DigestPolicy",
    "Failure",
    "Refresh",
    "RunOptions",
    "RunReport",
    "choose_tag",
    "policies_for",
    "run",
    "run_automation",
    "scan_for",
    "scan_repositories",
    "shard_of",
]

logger = logging.getLogger("imagebot.pipeline")

DigestPolicy = Literal["none", "selected", "all"]
"""Which digests a run looks up: ``selected`` (default) the tag each policy selects and the tag its
fields hold now, one ``HEAD`` each, just before writing; ``all`` also every listed tag during the
scan; ``none`` nothing (digests already in the state store are still used)."""


class Refresh(Protocol):
    """What the selected tags point at now (and their source URLs); ``scan.refresh`` in practice."""

    def __call__(
        self, wanted: Sequence[tuple[flux.ImageRepository, Sequence[Tag]]], *, sources: bool
    ) -> Mapping[ObjectKey, TagFacts]: ...


@dataclasses.dataclass(frozen=True, slots=True)
class AutomationOptions:
    """How one automation is published (built by :func:`run`; tests call :func:`run_automation`)."""

    dry_run: bool = False
    """Compute the diff and the commit message; write, commit and push nothing."""
    push: bool = True
    """Push after committing (``False``: commit in the work tree only)."""
    pull_request: PullRequestConfig | None = None
    """Open/update a pull request from the bot's branch instead of pushing to the base branch."""
    signing_key: gitauth.SigningKey | None = None
    push_attempts: int = 5
    sleep: Callable[[float], None] = time.sleep
    refresh: Refresh | None = None
    """Looks up what the selected tags point at now (digest reflection, re-pushed tags)."""
    before_push: Callable[[], None] | None = None
    """Called right before each push; raising there abandons the run with nothing pushed (the
    scheduler does this when asked to stop)."""


@dataclasses.dataclass(frozen=True, slots=True)
class AutomationReport:
    """What one automation run saw and did."""

    automation: ObjectKey
    evaluations: tuple[Evaluation, ...]
    changes: ChangeSet
    current: Mapping[ObjectKey, Tag]
    """The tag each policy's fields held before the run (from the markers), where known."""
    diff: str = ""
    message: str | None = None
    revision: Revision | None = None
    pull_requests: tuple[PullRequestRef, ...] = ()
    """One per group (``group: per-image``: one per policy that changed)."""
    skipped: tuple[str, ...] = ()
    """Policies left alone because their repository failed to scan, with the reason."""

    @property
    def selections(self) -> tuple[Selection, ...]:
        return tuple(e.selection for e in self.evaluations if e.selection is not None)


def choose_tag(tags: Sequence[str], semver_range: str) -> str | None:
    """The highest git tag in a Masterminds range (``GitRepository.spec.ref.semver``), as Flux."""
    spec = flux.ImagePolicy(key=ObjectKey("", "spec.ref.semver"), repository=ObjectKey("", ""),
                            choice=flux.SemverChoice(semver_range))
    policy.validate(spec)
    repo = ImageRepo(registry="git", path="tags", name="git tags")
    listed = TagList(repo, tuple(Tag(t) for t in sorted(set(tags), reverse=True)),
                     datetime.datetime.now(datetime.UTC))
    selection = policy.select(listed, spec)
    return str(selection.tag) if selection is not None else None


def shard_of(key: ObjectKey, count: int) -> int:
    """The shard (``0 … count-1``) an ImageUpdateAutomation belongs to: a hash of its namespaced
    name, so every process computes the same split with no coordination."""
    digest = hashlib.sha256(str(key).encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def policies_for(cfg: config.Config, automation: flux.ImageUpdateAutomation) -> list[flux.ImagePolicy]:
    """The ImagePolicies an automation applies: its namespace, filtered by ``policySelector``."""
    wanted = automation.policy_selector.items()
    return [
        p for key, p in sorted(cfg.image_policies.items())
        if key.namespace == automation.key.namespace and all(p.labels.get(k) == v for k, v in wanted)
    ]


def scan_for(
    cfg: config.Config,
    automations: Iterable[flux.ImageUpdateAutomation],
    *,
    keychain: config.Keychain,
    secrets: config.SecretStore,
    state: StateStore | None,
    options: scan.ScanOptions,
) -> dict[ObjectKey, ScanResult]:
    """Scan every ImageRepository the automations' policies use, once each."""
    wanted = {p.repository for a in automations for p in policies_for(cfg, a)}
    repositories = [cfg.image_repositories[key] for key in sorted(wanted)]
    for repo in repositories:
        if repo.suspend:
            logger.info("ImageRepository %s is suspended; using the state store only", repo.key)
    active = [r for r in repositories if not r.suspend]
    tls = secrets.tls_for(active)
    results = scan.scan_all(active, credentials=keychain.lookup, settings=cfg.registries,
                            state=state, options=options, tls=tls)
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


def _record_automation(
    state: StateStore, cfg: config.Config, automation: flux.ImageUpdateAutomation,
    report: AutomationReport | None, scans: Mapping[ObjectKey, ScanResult], *, error: str | None,
    now: datetime.datetime,
) -> None:
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


def _current_tags(root: Path, paths: Sequence[Path], policies: Iterable[ObjectKey]) -> dict[ObjectKey, Tag]:
    wanted = set(policies)
    report = setters.find_markers(root=root, paths=paths, references=False)
    current: dict[ObjectKey, Tag] = {}
    for marker in report.markers:
        if marker.policy not in wanted or marker.policy in current:
            continue
        if marker.field == "tag":
            current[marker.policy] = Tag(marker.value)
        elif marker.field == "ref":
            reference = marker.value.split("@", 1)[0]
            _, sep, tag = reference.rpartition(":")
            if sep and "/" not in tag:
                current[marker.policy] = Tag(tag)
    return current


def _evaluate(
    cfg: config.Config,
    policies: Sequence[flux.ImagePolicy],
    scans: Mapping[ObjectKey, ScanResult],
    current: Mapping[ObjectKey, Tag],
    now: datetime.datetime,
) -> tuple[list[Evaluation], list[str]]:
    evaluations: list[Evaluation] = []
    skipped: list[str] = []
    for spec in policies:
        result = scans.get(spec.repository)
        if result is None or result.tags is None:
            why = result.error if result is not None else "its ImageRepository was not scanned"
            skipped.append(f"{spec.key}: fields left as they are: {why}")
            continue
        evaluation = policy.evaluate(result.tags, spec, now=now, current=current.get(spec.key))
        repush = evaluation.selection.repush if evaluation.selection else None
        if repush is not None:
            logger.warning("%s: tag %s was re-pushed (%s when first seen, %s now)",
                           spec.key, repush.tag, repush.first_digest, repush.digest)
        evaluations.append(evaluation)
    return evaluations, skipped


def _refreshed(
    cfg: config.Config, scans: Mapping[ObjectKey, ScanResult], evaluations: Iterable[Evaluation],
    refresh: Refresh, *, current: Mapping[ObjectKey, Tag], sources: bool,
) -> tuple[dict[ObjectKey, ScanResult], dict[str, str]]:
    """Scans with the current digests of the selected tags and of the tags the fields hold now
    (where the registry still lists them), and (``sources``) image name → source URL for the tags
    that change (a source look-up costs manifest GETs, pulls on Docker Hub).

    These are the only digests a run needs (``:digest`` markers, ``digestReflectionPolicy``,
    re-pushed tags), so the scan itself lists tags only: a first run costs what a later one does.
    """
    selected: dict[ObjectKey, set[Tag]] = {}
    changing: dict[ObjectKey, set[Tag]] = {}
    for evaluation in evaluations:
        repository = cfg.image_policies[evaluation.policy].repository
        now_in_files = current.get(evaluation.policy)
        listed = scans[repository].tags if repository in scans else None
        if now_in_files is not None and listed is not None and now_in_files in listed.tags:
            selected.setdefault(repository, set()).add(now_in_files)
        if evaluation.selection is not None:
            selected.setdefault(repository, set()).add(evaluation.selection.tag)
            if evaluation.selection.tag != now_in_files:
                changing.setdefault(repository, set()).add(evaluation.selection.tag)

    def ask(wanted: dict[ObjectKey, set[Tag]], *, with_sources: bool) -> Mapping[ObjectKey, TagFacts]:
        return refresh([(cfg.image_repositories[key], sorted(tags)) for key, tags in sorted(wanted.items())],
                       sources=with_sources)

    updated = dict(scans)
    for key, facts in ask(selected, with_sources=False).items():
        result = updated.get(key)
        if result is not None and result.tags is not None and facts.digests:
            tags = dataclasses.replace(result.tags, digests={**result.tags.digests, **facts.digests})
            updated[key] = dataclasses.replace(result, tags=tags)
    urls: dict[str, str] = {}
    if sources and changing:
        for key, facts in ask(changing, with_sources=True).items():
            for url in facts.sources.values():
                urls[cfg.image_repositories[key].image.name] = url
    return updated, urls


def _values(cfg: config.Config, evaluations: Iterable[Evaluation]) -> dict[ObjectKey, ImageRef]:
    values: dict[ObjectKey, ImageRef] = {}
    for evaluation in evaluations:
        selection = evaluation.selection
        if selection is None:
            continue
        spec = cfg.image_policies[evaluation.policy]
        image = cfg.image_repositories[spec.repository].image.name  # Flux writes spec.image verbatim
        values[evaluation.policy] = ImageRef(image, selection.tag, selection.digest)
    return values


def _diff(planned: setters.Plan) -> str:
    chunks: list[str] = []
    for edit in planned.edits:
        before = edit.before.decode("utf-8", "replace").splitlines(keepends=True)
        after = edit.after.decode("utf-8", "replace").splitlines(keepends=True)
        path = edit.change.path
        chunks.extend(difflib.unified_diff(before, after, f"a/{path}", f"b/{path}"))
    return "".join(chunks)


def _message(automation: flux.ImageUpdateAutomation, changes: ChangeSet,
             evaluations: Sequence[Evaluation]) -> str:
    data = publish.template_data(
        automation.key, changes, selections=[e.selection for e in evaluations if e.selection is not None],
        v1beta1=automation.api_version.endswith("/v1beta1"),
    )
    try:
        return publish.render_commit_message(automation.commit.message_template, data)
    except ConfigError as exc:
        where = f"{automation.source_file}: ImageUpdateAutomation {automation.key}"
        raise ConfigError(f"{where}: {exc}") from None


def _publish_base(
    cfg: config.Config, automation: flux.ImageUpdateAutomation, workspace: git.Workspace,
) -> tuple[str | None, str]:
    """(the branch to publish, the commit imagebot's change goes on top of).

    A clone imagebot owns has the checkout ref checked out: its HEAD, published to the push
    branch (default: that branch). In a checkout opened in place it is the remote's branch
    (fetched) — the push branch if it exists, else the checkout ref's branch, else the branch
    the user is on — so that neither their edits, local commits nor current branch play a part.
    """
    push = automation.push.branch if automation.push is not None else None
    if not workspace.in_place:
        return push or workspace.branch, workspace.head
    repository = cfg.git_repositories.get(automation.source)
    checkout = automation.checkout or (repository.ref if repository is not None else None)
    candidates = [push, checkout.branch if checkout is not None else None, workspace.branch]
    for branch in dict.fromkeys(b for b in candidates if b):
        sha = workspace.fetch_branch(branch)
        if sha is not None:
            return push or branch, sha
    named = ", ".join(dict.fromkeys(b for b in candidates if b)) or "none named"
    raise GitError(f"the remote {workspace.url} has none of the branches to publish ({named})")


def run_automation(
    automation: flux.ImageUpdateAutomation,
    *,
    cfg: config.Config,
    scans: Mapping[ObjectKey, ScanResult],
    workspace: git.Workspace,
    options: AutomationOptions | None = None,
    forge: Callable[[], publish.Forge] | None = None,
    now: datetime.datetime | None = None,
) -> AutomationReport:
    """One automation, once: policies → setters → commit → push or pull request.

    ``forge`` makes the forge client when a pull request is actually needed (so a run with
    nothing to change needs no forge credentials). The setters run on the files of the commit
    being published (see :func:`_base`), the commit is built from the bytes they produced, and in
    a checkout opened in place nothing but objects and remote-tracking refs is written; a dry run
    reads the files as they are below ``workspace.root``.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    options = options or AutomationOptions()
    policies = policies_for(cfg, automation)
    paths = [Path(automation.update_path)]
    if workspace.in_place and not options.dry_run and not options.push:
        raise ConfigError(
            "--no-push in a checkout opened in place would leave the commit on no branch (imagebot "
            "moves none of yours): use --dry-run to see the change, or let imagebot clone (--repo URL)"
        )
    if not workspace.in_place and not options.dry_run:
        start = workspace.root / automation.update_path  # temp files a killed run left in our clone
        setters.remove_stale([Path(d) for d, _, _ in os.walk(start)] if start.is_dir() else [start.parent])
    target, base = (None, None) if options.dry_run else _publish_base(cfg, automation, workspace)
    view = (contextlib.nullcontext(workspace.root) if base is None
            else workspace.files_at(base, paths=[automation.update_path], also=setters.IGNORE_FILES,
                                    containing=setters.KEYWORD_BYTES))
    with view as root:
        current = _current_tags(root, paths, (p.key for p in policies))
        evaluations, skipped = _evaluate(cfg, policies, scans, current, now)
        sources: dict[str, str] = {}
        if options.refresh is not None and any(e.selection for e in evaluations):
            # source URLs only go into pull requests; looking them up costs manifest GETs
            scans, sources = _refreshed(cfg, scans, evaluations, options.refresh, current=current,
                                        sources=options.pull_request is not None and not options.dry_run)
            evaluations, skipped = _evaluate(cfg, policies, scans, current, now)
        values = _values(cfg, evaluations)
        planned = _relabel(setters.plan(values, root=root, paths=paths), root, workspace, base)
    report = AutomationReport(automation.key, tuple(evaluations), planned.changeset, current,
                       skipped=tuple(skipped))
    if not planned.edits:
        return report  # nothing to do: no commit, no push (Flux returns early here too)
    message = _message(automation, planned.changeset, evaluations)
    report = dataclasses.replace(report, diff=_diff(planned), message=message)
    if options.dry_run:
        return report
    assert base is not None
    if options.pull_request is not None:
        # each pull-request branch is rebuilt from the base and re-applied there
        return _pull_requests(automation, report, workspace=workspace, options=options, forge=forge,
                              values=values, paths=paths, sources=sources, base=target, base_sha=base)
    if target is None:
        raise ConfigError("HEAD is detached (tag/semver/commit checkout): name a push branch")
    changes = planned.changeset
    first: tuple[str, setters.Plan] | None = (base, planned)

    def build(sha: str) -> Revision | None:
        nonlocal changes, first
        if first is not None and first[0] == sha:
            edits = first[1]
        else:
            edits = _plan_at(workspace, sha, values, automation.update_path, paths)
        first = None
        changes = edits.changeset
        if not edits.edits:
            return None
        return workspace.commit(
            _message(automation, changes, evaluations), files=_files(workspace, edits), parent=sha,
            author_name=automation.commit.author_name, author_email=automation.commit.author_email,
            signing_key=options.signing_key,
        )

    if not options.push:
        return dataclasses.replace(report, revision=build(base))
    if options.before_push is not None:
        options.before_push()
    push = automation.push
    revision = git.push_with_retry(
        workspace, build=build, base=base, branch=target,
        refspec=push.refspec if push else None, options=push.options if push else None,
        attempts=options.push_attempts, sleep=options.sleep,
    )
    return dataclasses.replace(report, changes=changes, revision=revision)


def _plan_at(workspace: git.Workspace, sha: str, values: Mapping[ObjectKey, ImageRef], update_path: str,
             paths: Sequence[Path]) -> setters.Plan:
    with workspace.files_at(sha, paths=[update_path], also=setters.IGNORE_FILES,
                            containing=setters.KEYWORD_BYTES) as root:
        return _relabel(setters.plan(values, root=root, paths=paths), root, workspace, sha)


def _relabel(planned: setters.Plan, root: Path, workspace: git.Workspace, sha: str | None) -> setters.Plan:
    """Problems found in a temporary copy of a commit's files name the user's root and the commit."""
    if sha is None or root == workspace.root:
        return planned
    scratch, shown = str(root.resolve()), f"{workspace.root} at {sha[:12]}"
    errors = tuple(dataclasses.replace(p, message=p.message.replace(scratch, shown)) for p in planned.errors)
    return dataclasses.replace(planned, errors=errors)


def _files(workspace: git.Workspace, planned: setters.Plan) -> dict[str, bytes | None]:
    """What the setters produced, by repository path: the only content a commit holds."""
    return {workspace.git_path(edit.change.path): edit.after for edit in planned.edits}


def _pull_requests(
    automation: flux.ImageUpdateAutomation,
    report: AutomationReport,
    *,
    workspace: git.Workspace,
    options: AutomationOptions,
    forge: Callable[[], publish.Forge] | None,
    values: Mapping[ObjectKey, ImageRef],
    paths: Sequence[Path],
    sources: Mapping[str, str],
    base: str | None,
    base_sha: str,
) -> AutomationReport:
    """Push imagebot's own branch(es) and open or update one pull request per group.

    Each branch is rebuilt from the base on every run (``group: per-image``: one branch and pull
    request per policy) purely from objects — no local branch is created or switched to —
    replaced only if nobody else moved it, and not pushed at all when it already carries the same
    tree — so a rerun with nothing new is a no-op.
    """
    assert options.pull_request is not None
    spec = options.pull_request.spec
    if workspace.in_place and spec.base and spec.base != base:
        base_sha = workspace.fetch_branch(spec.base) or ""
        if not base_sha:
            raise GitError(f"the remote {workspace.url} has no branch {spec.base} (the pull requests' base)")
    base = spec.base or base
    if base is None:
        raise ConfigError(f"ImageUpdateAutomation {automation.key}: pull requests need a base branch")
    push = automation.push
    if spec.group == "per-image":
        changed = sorted({c.policy for f in report.changes.files for c in f.changes})
        groups = [(publish.branch_name(automation.key, policy=key), {key: values[key]}) for key in changed]
    else:
        own = push is not None and push.branch is not None and push.branch != base
        head = publish.branch_name(automation.key)
        if own and push is not None and push.branch:
            head = push.branch
        groups = [(head, dict(values))]
    revision: Revision | None = None
    opened: list[PullRequestRef] = []
    for head, group in groups:
        planned = _plan_at(workspace, base_sha, group, automation.update_path, paths)
        changes = planned.changeset
        if not planned.edits:
            continue
        selections = [s for s in report.selections if s.policy in group]
        message = _message(automation, changes, [e for e in report.evaluations if e.policy in group])
        revision = workspace.commit(
            message, files=_files(workspace, planned), parent=base_sha,
            author_name=automation.commit.author_name, author_email=automation.commit.author_email,
            signing_key=options.signing_key,
        )
        if revision is None or not options.push:
            continue
        remote = workspace.fetch_branch(head)
        if remote is not None and workspace.same_tree(remote, revision.sha):
            logger.info("%s already carries these changes; nothing to push", head)
            revision = Revision(head, remote)
        else:
            if options.before_push is not None:
                options.before_push()
            revision = workspace.push(head, commit=revision.sha, force_with_lease=remote or "")
        if forge is None:
            raise ConfigError(f"ImageUpdateAutomation {automation.key}: pull requests need a forge")
        data = publish.template_data(automation.key, changes, selections=selections, sources=sources)
        opened.append(publish.open_or_update(
            forge(), head, base=base, title=publish.pull_request_title(message),
            body=publish.render_pull_request_body(data, problems=report.changes.errors,
                                                  template=spec.body_template),
            spec=spec,
        ))
    return dataclasses.replace(report, revision=revision, pull_requests=tuple(opened))


# -- the run core -------------------------------------------------------------------------------


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


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """An image repository that failed to scan or an automation that failed; the others went on."""

    kind: Literal["automation", "repository"]
    key: ObjectKey
    error: str

    def __str__(self) -> str:
        return f"{self.key}: {self.error}"


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
    # a first run used to HEAD every tag of every repository and time out)
    scans = scan_for(cfg, automations, keychain=keychain, secrets=secrets, state=state,
                     options=scan.ScanOptions(digests="all" if options.digests == "all" else "none",
                                              observe=options.observe))
    failures = [Failure("repository", r.key, r.error) for r in scans.values() if r.error]
    record_scans(state, scans.values(), now=now)

    def refresh(
        wanted: Sequence[tuple[flux.ImageRepository, Sequence[Tag]]], *, sources: bool,
    ) -> dict[ObjectKey, TagFacts]:
        tls = secrets.tls_for(r for r, _ in wanted)
        fresh = scan.refresh(wanted, credentials=keychain.lookup, settings=cfg.registries, tls=tls,
                             sources=sources)
        state.record_many(
            {r.image.canonical: ((), fresh[r.key].digests) for r, _ in wanted if r.key in fresh}, now=now
        )
        return fresh

    reports: list[AutomationReport] = []
    errors: list[ImagebotError] = []
    for automation in automations:
        try:
            report = _run_one(automation, cfg, scans, secrets, options, now=now,
                              refresh=refresh if options.digests != "none" else None)
        except ConfigError:
            raise
        except ImagebotError as exc:
            failures.append(Failure("automation", automation.key, str(exc)))
            errors.append(exc)
            if not options.dry_run:
                _record_automation(state, cfg, automation, None, scans, error=str(exc), now=now)
            continue
        reports.append(report)
        if not options.dry_run:
            problems = "; ".join(str(p) for p in report.changes.errors) or None
            _record_automation(state, cfg, automation, report, scans, error=problems, now=now)
    return RunReport(tuple(reports), tuple(failures), scans, tuple(errors))


def _run_one(
    automation: flux.ImageUpdateAutomation, cfg: config.Config, scans: Mapping[ObjectKey, ScanResult],
    secrets: config.SecretStore, options: RunOptions, *, now: datetime.datetime, refresh: Refresh | None,
) -> AutomationReport:
    with _workspace(automation, cfg, secrets, options) as workspace:  # the clone is locked till done
        return _run_in(workspace, automation, cfg=cfg, scans=scans, secrets=secrets, options=options,
                       now=now, refresh=refresh)


def _run_in(
    workspace: git.Workspace, automation: flux.ImageUpdateAutomation, *, cfg: config.Config,
    scans: Mapping[ObjectKey, ScanResult], secrets: config.SecretStore, options: RunOptions,
    now: datetime.datetime, refresh: Refresh | None,
) -> AutomationReport:
    pr = cfg.pull_requests.get(automation.key)
    if pr is None and options.pull_request:
        pr = PullRequestConfig(key=automation.key)
    signing = (config.signing_key(secrets, automation.commit.signing_key_secret)
               if automation.commit.signing_key_secret else None)
    automation_options = AutomationOptions(
        dry_run=options.dry_run, push=options.push, pull_request=pr, signing_key=signing,
        push_attempts=options.push_attempts, sleep=options.sleep, refresh=refresh,
        before_push=options.before_push,
    )

    def forge() -> publish.Forge:
        assert pr is not None
        return _forge(pr, workspace, secrets)

    return run_automation(automation, cfg=cfg, scans=scans, workspace=workspace, options=automation_options,
                          forge=forge if pr is not None else None, now=now)


def _workspace(
    automation: flux.ImageUpdateAutomation, cfg: config.Config, secrets: config.SecretStore,
    options: RunOptions,
) -> git.Workspace:
    repository = cfg.git_repositories.get(automation.source)
    auth = config.git_auth(secrets, repository) if repository is not None else None
    timeout = repository.timeout.total_seconds() if repository is not None else git.DEFAULT_TIMEOUT
    if options.repo is not None and _is_checkout(Path(options.repo)):
        try:
            remote: str | None = git.Workspace.open(Path(options.repo)).url
        except GitError:
            remote = None  # no 'origin': fine for plan; a run says so when it needs it
        if remote is not None and (
            repository is None or git.redact_url(repository.url).rstrip("/") != remote.rstrip("/")
        ):
            # in place, the checkout's own remote is pushed to — in a GitHub Action an https
            # github.com URL (GITHUB_TOKEN), whatever URL the GitRepository object names
            auth = config.git_auth(secrets, flux.GitRepository(key=automation.source, url=remote))
        return git.Workspace.open(Path(options.repo), auth=auth, timeout=timeout)
    url = options.repo or (repository.url if repository is not None else None)
    if url is None:
        raise ConfigError(
            f"{automation.source_file}: ImageUpdateAutomation {automation.key}: GitRepository "
            f"{automation.source} not found in the configuration (or pass --repo)"
        )
    ref = automation.checkout or (repository.ref if repository is not None else None) or GitRef()
    workdir = (options.workdir or config.home() / "git") / git.default_workdir(url).name
    return git.Workspace.clone(url, ref=ref, auth=auth, workdir=workdir, choose_tag=choose_tag,
                               timeout=timeout)


def _is_checkout(path: Path) -> bool:
    """A work tree (or a directory inside one) is worked on in place; a bare repository is cloned."""
    bare = (path / "HEAD").is_file() and (path / "objects").is_dir() and not (path / ".git").exists()
    return path.is_dir() and not bare


def _github_repository(url: str) -> str | None:
    match = re.search(r"github\.com[:/]+([^/]+/[^/]+?)(?:\.git)?/?$", url)
    return match.group(1) if match else None


def _forge(pr: PullRequestConfig, workspace: git.Workspace, secrets: config.SecretStore) -> publish.Forge:
    repository = pr.forge.repository or _github_repository(workspace.url)
    if repository is None:
        raise ConfigError(
            f"PullRequest {pr.key}: set spec.forge.repository (owner/name); it cannot be derived "
            f"from {git.redact_url(workspace.url)}"
        )
    return publish.GitHubForge(repository, config.forge_credentials(secrets, pr.forge),
                               base_url=pr.forge.api_url)
