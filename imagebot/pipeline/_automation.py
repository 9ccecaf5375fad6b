"""One automation, once: policies → setters → publish.

``run_automation`` evaluates the automation's policies on the scans, runs the setters on the
files of the commit being published, and hands publish the result as model values (the
``Edits``, the values and a ``reapply`` callable that re-runs the setters on another commit);
all Git work — commits, signing, pushes with re-apply, pull-request branches — is publish's.
Called by :func:`imagebot.pipeline.run` (and by tests, with a workspace of their own).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from imagebot import config, git, policy, publish, setters
from imagebot.errors import ConfigError, GitError
from imagebot.model import flux, gitauth
from imagebot.model.changes import ChangeSet, Edits
from imagebot.model.history import Rollback
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.images import ImageRef
from imagebot.model.pullrequests import PullRequestConfig
from imagebot.model.revisions import PullRequestRef, Revision
from imagebot.model.scans import ScanResult
from imagebot.model.selections import Evaluation, Selection
from imagebot.pipeline._digests import Refresh, refreshed
from imagebot.pipeline._gates import Gate, TagsAt, evaluate_held
from imagebot.pipeline._select import policies_for
from imagebot.pipeline._workspace import checkout_branch

__all__ = ["AutomationOptions", "AutomationReport", "current_tags", "run_automation"]

logger = logging.getLogger("imagebot.pipeline")


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
    rollbacks: Mapping[ObjectKey, Rollback] = dataclasses.field(default_factory=dict)
    """Tags rolled back in Git, per policy (``imagebot rollback``): not proposed again until a
    newer tag appears."""
    gate: Gate | None = None
    """Checks ``imagebot.dev/promote-after`` (:func:`imagebot.pipeline.promotion_gate`)."""


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
    waiting: str | None = None
    """Set when a promotion gate (``imagebot.dev/promote-after``) holds the change: what for."""

    @property
    def selections(self) -> tuple[Selection, ...]:
        return tuple(e.selection for e in self.evaluations if e.selection is not None)


def run_automation(
    automation: flux.ImageUpdateAutomation,
    *,
    cfg: config.Config,
    scans: Mapping[ObjectKey, ScanResult],
    workspace: git.Workspace,
    options: AutomationOptions | None = None,
    forge: Callable[[], publish.Forge] | None = None,
    now: datetime.datetime | None = None,
    documents: setters.Documents | None = None,
) -> AutomationReport:
    """One automation, once: policies → setters → commit → push or pull request.

    ``forge`` makes the forge client when a pull request is actually needed (so a run with
    nothing to change needs no forge credentials). The setters run on the files of the commit
    being published (:func:`imagebot.publish.target`), the commit is built from the bytes they
    produced, and in a checkout opened in place nothing but objects and remote-tracking refs is
    written; a dry run reads the files as they are below ``workspace.root``.

    The tree is read and parsed once: the same :class:`~imagebot.setters.Tree` tells the current
    tags, plans the values and serves publish's re-applies on that commit (pull-request groups);
    a re-apply on another commit parses only files whose bytes differ (``documents``, the run's
    cache of parses).
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
    target = None if options.dry_run else publish.target(
        workspace, push_branch=automation.push.branch if automation.push is not None else None,
        checkout_branch=checkout_branch(cfg, automation),
    )
    base = target.sha if target is not None else None
    view = (contextlib.nullcontext(workspace.root) if base is None
            else workspace.files_at(base, paths=[automation.update_path], also=setters.IGNORE_FILES,
                                    containing=setters.KEYWORD_BYTES))
    documents = documents if documents is not None else setters.Documents()
    with view as root:
        tree = setters.read(root, paths, documents=documents)
        current = current_tags(tree, (p.key for p in policies))
        evaluations, skipped = _evaluate(policies, scans, current, now, rollbacks=options.rollbacks)
        sources: dict[str, str] = {}
        if options.refresh is not None and any(e.selection for e in evaluations):
            # source URLs only go into pull requests; looking them up costs manifest GETs
            scans, sources = refreshed(cfg, scans, evaluations, options.refresh, current=current,
                                       sources=options.pull_request is not None and not options.dry_run)
            evaluations = _reflected(evaluations, cfg, scans)
        _warn_repushed(evaluations)
        values = _values(cfg, evaluations)
        planned = _relabel(tree.plan(values), root, workspace, base)
    report = AutomationReport(automation.key, tuple(evaluations), planned.changeset, current,
                              skipped=tuple(skipped))
    if not planned.edits:
        return report  # nothing to do: no commit, no push (Flux returns early here too)
    message = publish.commit_message(automation, planned.changeset, report.selections)
    report = dataclasses.replace(report, diff=planned.diff(), message=message)
    waiting = _waiting(automation, planned.changeset, values, options.gate, _tags_reader(workspace, base))
    if waiting is not None:
        logger.info("%s: %s", automation.key, waiting)
        return dataclasses.replace(report, waiting=waiting)
    if options.dry_run:
        return report
    assert target is not None

    trees = {target.sha: (root, tree)}  # the commit the setters just ran on: no second read

    def reapply(sha: str, wanted: Mapping[ObjectKey, ImageRef]) -> Edits:
        if sha not in trees:
            with workspace.files_at(sha, paths=[automation.update_path], also=setters.IGNORE_FILES,
                                    containing=setters.KEYWORD_BYTES) as copy:
                trees[sha] = (copy, setters.read(copy, paths, documents=documents))
        where, at = trees[sha]
        return _edits(_relabel(at.plan(wanted), where, workspace, sha))

    published = publish.publish(
        workspace, automation, target=target, edits=_edits(planned), values=values, reapply=reapply,
        selections=report.selections, sources=sources, pull_request=options.pull_request, forge=forge,
        options=publish.PublishOptions(
            push=options.push, signing_key=options.signing_key, push_attempts=options.push_attempts,
            sleep=options.sleep, before_push=options.before_push,
        ),
    )
    return dataclasses.replace(report, changes=published.changes, revision=published.revision,
                               pull_requests=published.pull_requests)


def _tags_reader(workspace: git.Workspace, base: str | None) -> TagsAt:
    """Markers below a path at another commit, for promotion gates; in a clone we own, reading
    moves the work tree, so it is put back on ``base`` afterwards."""

    def tags_at(revision: str, path: str) -> dict[ObjectKey, Tag] | None:
        paths = [Path(path)]
        try:
            sha = workspace.resolve(revision)
        except GitError:
            return None  # not fetched (a shallow clone): the gate waits for a later check
        try:
            with workspace.files_at(sha, paths=[path], also=setters.IGNORE_FILES,
                                    containing=setters.KEYWORD_BYTES) as root:
                return current_tags(setters.read(root, paths), None)
        finally:
            if base is not None and not workspace.in_place:
                with workspace.files_at(base, paths=[]):
                    pass

    return tags_at


def _waiting(automation: flux.ImageUpdateAutomation, changes: ChangeSet, values: Mapping[ObjectKey, ImageRef],
             gate: Gate | None, tags_at: TagsAt) -> str | None:
    """What the automation's promotion gate waits for (None: no gate, or it is open)."""
    if automation.promote_after is None:
        return None
    changed = {c.policy for f in changes.files for c in f.changes}
    wanted = {key: ref for key, ref in values.items() if key in changed}
    if gate is None:
        return f"waiting for Application {automation.promote_after}: no status source"
    return gate(automation, wanted, tags_at)


def current_tags(tree: setters.Tree, policies: Iterable[ObjectKey] | None) -> dict[ObjectKey, Tag]:
    """The tag each policy's first marker holds now (``:tag`` or a full reference); ``policies``
    None: every policy a marker names."""
    wanted = set(policies) if policies is not None else None
    current: dict[ObjectKey, Tag] = {}
    for marker, value in tree.held():
        if (wanted is not None and marker.policy not in wanted) or marker.policy in current:
            continue
        if marker.field == "tag":
            current[marker.policy] = Tag(value)
        elif marker.field == "ref":
            reference = value.split("@", 1)[0]
            _, sep, tag = reference.rpartition(":")
            if sep and "/" not in tag:
                current[marker.policy] = Tag(tag)
    return current


def _evaluate(
    policies: Sequence[flux.ImagePolicy],
    scans: Mapping[ObjectKey, ScanResult],
    current: Mapping[ObjectKey, Tag],
    now: datetime.datetime,
    *,
    rollbacks: Mapping[ObjectKey, Rollback],
) -> tuple[list[Evaluation], list[str]]:
    evaluations: list[Evaluation] = []
    skipped: list[str] = []
    for spec in policies:
        result = scans.get(spec.repository)
        if result is None or result.tags is None:
            why = result.error if result is not None else "its ImageRepository was not scanned"
            skipped.append(f"{spec.key}: fields left as they are: {why}")
            continue
        held = rollbacks.get(spec.key)
        evaluations.append(evaluate_held(result.tags, spec, now, current.get(spec.key), held))
    return evaluations, skipped


def _reflected(evaluations: Iterable[Evaluation], cfg: config.Config,
               scans: Mapping[ObjectKey, ScanResult]) -> list[Evaluation]:
    """The evaluations finished with the digests looked up for their selected tags (not ranked again)."""
    finished: list[Evaluation] = []
    for evaluation in evaluations:
        spec = cfg.image_policies[evaluation.policy]
        tags = scans[spec.repository].tags
        assert tags is not None  # an evaluation exists only for a repository that was listed
        finished.append(policy.reflect(evaluation, spec, tags))
    return finished


def _warn_repushed(evaluations: Iterable[Evaluation]) -> None:
    for evaluation in evaluations:
        repush = evaluation.selection.repush if evaluation.selection else None
        if repush is not None:
            logger.warning("%s: tag %s was re-pushed (%s when first seen, %s now)",
                           evaluation.policy, repush.tag, repush.first_digest, repush.digest)


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


def _edits(planned: setters.Plan) -> Edits:
    """The setters' plan as publish commits it: the report and the new bytes by path."""
    return Edits(planned.changeset, {edit.change.path: edit.after for edit in planned.edits})


def _relabel(planned: setters.Plan, root: Path, workspace: git.Workspace, sha: str | None) -> setters.Plan:
    """Problems found in a temporary copy of a commit's files name the user's root and the commit."""
    if sha is None or root == workspace.root:
        return planned
    scratch, shown = str(root.resolve()), f"{workspace.root} at {sha[:12]}"
    errors = tuple(dataclasses.replace(p, message=p.message.replace(scratch, shown)) for p in planned.errors)
    return dataclasses.replace(planned, errors=errors)
