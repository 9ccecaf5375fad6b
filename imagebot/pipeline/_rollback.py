"""Roll an Application back the GitOps way: revert imagebot's image-update commits in Git.

``rollback(cfg, app=…, secrets=…, state=…, options=…)`` is what ``imagebot rollback APP`` runs;
it decides what to revert and hands the Git work to :mod:`imagebot.publish` (``history``,
``revert``).
It finds the Application (or Flux Kustomization) and the ImageUpdateAutomation that writes below
its source path, reads the branch's history, and reverts the image-update commits (imagebot's own,
by their author) that changed that path — the last one, or every one since ``--to REVISION`` —
restricted to the Application's path. The revert is committed and pushed like ``imagebot run``
does it (same author, signing, push options, push-with-retry on a moved branch, and in a checkout
opened in place nothing but objects and remote-tracking refs are written), or pushed to
``imagebot/rollback-<namespace>-<name>`` with a pull request. Each ImagePolicy whose tag it takes
back is recorded in the state store, so the pipeline does not propose that tag (or anything ranked
at or below it) again until a newer one appears. The next sync applies the revert: Git stays the
source of truth.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import posixpath
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from imagebot import config, git, publish, setters, sync
from imagebot.errors import ConfigError, GitError
from imagebot.model import flux
from imagebot.model.history import LoggedCommit, Rollback
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.pullrequests import PullRequestConfig
from imagebot.model.revisions import PullRequestRef, Revision
from imagebot.pipeline._automation import current_tags
from imagebot.pipeline._select import policies_for
from imagebot.pipeline._workspace import checkout_branch, open_workspace
from imagebot.state import StateStore

__all__ = ["RollbackOptions", "RollbackReport", "branch_for", "rollback", "rollback_summary"]

logger = logging.getLogger("imagebot.rollback")

_REVERTS = re.compile(r"^This reverts commit ([0-9a-f]{40})\b", re.MULTILINE)


@dataclasses.dataclass(frozen=True, slots=True)
class RollbackOptions:
    to: str | None = None
    """Revert every image-update commit after this revision (default: only the last one)."""
    pull_request: bool = False
    """Open a pull request (also when the automation has a ``PullRequest`` object)."""
    repo: str | None = None
    """A path or URL replacing the repository; a checkout is worked on in place (as ``run``)."""
    workdir: Path | None = None
    dry_run: bool = False
    """Compute the revert and its message; commit, push and record nothing."""
    message_template: str | None = None
    push_attempts: int = 5
    sleep: Callable[[float], None] = time.sleep
    now: datetime.datetime | None = None
    before_push: Callable[[], None] | None = None
    """Called right before each push (as :class:`imagebot.pipeline.AutomationOptions`)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RollbackReport:
    application: ObjectKey
    automation: ObjectKey
    path: str
    reverted: tuple[LoggedCommit, ...]
    images: tuple[publish.RolledBackImage, ...]
    files: tuple[str, ...]
    message: str
    revision: Revision | None = None
    pull_request: PullRequestRef | None = None


def branch_for(app: ObjectKey) -> str:
    """The pull-request branch of a rollback: ``imagebot/rollback-<namespace>-<name>``."""
    return f"{publish.BRANCH_PREFIX}/rollback-{app.namespace}-{app.name}"


def _norm(path: str) -> str:
    clean = posixpath.normpath(path.strip().lstrip("/")) if path.strip() else "."
    return "" if clean == "." else clean


def _overlaps(a: str, b: str) -> bool:
    a, b = _norm(a), _norm(b)
    return not a or not b or a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _same_repository(a: str, b: str) -> bool:
    def clean(url: str) -> str:
        return git.redact_url(url).rstrip("/").removesuffix(".git").removeprefix("file://")
    return clean(a) == clean(b)


def _unit(cfg: config.Config, name: str) -> sync.SyncUnit:
    generated = sync.generate(cfg.application_sets.values(), sync.Sources(workdir=sync.APPSET_CLONES),
                              config.parse_generated_application)
    every = sync.units([*cfg.applications.values(), *generated.applications],
                       list(cfg.kustomizations.values()), cfg.git_repositories)
    found = sync.select(every, [name])
    if len(found) != 1:
        raise ConfigError(f"{name}: names {len(found)} Applications ({', '.join(u.name for u in found)}); "
                          "use NAMESPACE/NAME")
    return found[0]


def _automation(
    cfg: config.Config, unit: sync.SyncUnit, *, any_repository: bool,
) -> flux.ImageUpdateAutomation:
    """The automation writing below the unit's path in its repository (the most specific one)."""
    matches = []
    for automation in sorted(cfg.automations.values(), key=lambda a: a.key):
        repository = cfg.git_repositories.get(automation.source)
        same = any_repository or (repository is not None and _same_repository(repository.url, unit.repo_url))
        if same and _overlaps(automation.update_path, unit.path):
            matches.append(automation)
    if not matches:
        raise ConfigError(
            f"{unit.name}: no ImageUpdateAutomation writes below {unit.path or '.'} of {unit.repo_url} "
            "(imagebot rolls back its own image-update commits)"
        )
    return max(matches, key=lambda a: len(_norm(a.update_path)))


def _candidates(history: Sequence[LoggedCommit], automation: flux.ImageUpdateAutomation, *,
                everything: bool) -> list[LoggedCommit]:
    """imagebot's image-update commits in ``history`` (newest first) that were not reverted yet:
    the newest one, or (``everything``) all of them."""
    author = automation.commit
    reverted = {sha for c in history for sha in _REVERTS.findall(c.message)}
    chosen = []
    for commit in history:
        ours = commit.author_email == author.author_email and (
            not author.author_name or commit.author_name == author.author_name)
        if not ours or commit.sha in reverted or _REVERTS.search(commit.message) or len(commit.parents) != 1:
            continue
        chosen.append(commit)
        if not everything:
            break
    return chosen


def _tags_at(workspace: git.Workspace, sha: str, path: str,
             policies: Sequence[ObjectKey]) -> dict[ObjectKey, Tag]:
    paths = [Path(path or ".")]
    with workspace.files_at(sha, paths=[path], also=setters.IGNORE_FILES,
                            containing=setters.KEYWORD_BYTES) as root:
        return current_tags(setters.read(root, paths), policies)


def _images(cfg: config.Config, workspace: git.Workspace, commits: Sequence[LoggedCommit], path: str,
            automation: flux.ImageUpdateAutomation) -> list[publish.RolledBackImage]:
    """Per policy: the tag the newest reverted commit wrote, and the one before the oldest."""
    policies = [p.key for p in policies_for(cfg, automation)]
    newest = _tags_at(workspace, commits[0].sha, path, policies)
    oldest = _tags_at(workspace, commits[-1].parents[0], path, policies)
    changed: set[ObjectKey] = set()
    for commit in commits:
        after = newest if commit is commits[0] else _tags_at(workspace, commit.sha, path, policies)
        before = oldest if commit is commits[-1] else _tags_at(workspace, commit.parents[0], path, policies)
        changed.update(key for key in policies if after.get(key) != before.get(key))
    found = []
    for key in sorted(changed):
        if key not in newest:
            continue
        spec = cfg.image_policies[key]
        repository = cfg.image_repositories.get(spec.repository)
        image = repository.image.name if repository is not None else ""
        found.append(publish.RolledBackImage(str(key), image, newest[key], oldest.get(key)))
    return found


def rollback(
    cfg: config.Config,
    *,
    app: str,
    secrets: config.SecretStore,
    state: StateStore,
    options: RollbackOptions | None = None,
) -> RollbackReport:
    """Revert the image-update commit(s) of ``app`` (``NAME`` or ``NAMESPACE/NAME``) in Git.

    ::

        with StateStore(path) as store:
            report = pipeline.rollback(cfg, app="argocd/web-prod", secrets=secrets, state=store)

    Raises :class:`ConfigError` for an unknown Application or one no automation writes to, and
    :class:`GitError` when there is nothing to revert or a revert conflicts with later changes.
    """
    options = options or RollbackOptions()
    now = options.now or datetime.datetime.now(datetime.UTC)
    unit = _unit(cfg, app)
    automation = _automation(cfg, unit, any_repository=options.repo is not None)
    pr = cfg.pull_requests.get(automation.key)
    if pr is None and options.pull_request:
        pr = PullRequestConfig(key=automation.key)
    signing = (config.signing_key(secrets, automation.commit.signing_key_secret)
               if automation.commit.signing_key_secret else None)
    with open_workspace(automation, cfg, secrets, repo=options.repo, workdir=options.workdir) as workspace:
        target = publish.target(
            workspace, push_branch=automation.push.branch if automation.push is not None else None,
            checkout_branch=checkout_branch(cfg, automation),
        )
        target, history = publish.history(workspace, target, path=unit.path, stop=options.to)
        commits = _candidates(history, automation, everything=options.to is not None)
        if not commits:
            since = f" since {options.to}" if options.to else ""
            raise GitError(f"{unit.name}: no image-update commit by {automation.commit.author_email} "
                           f"changed {unit.path or '.'}{since} on {target.branch or 'HEAD'}; nothing to "
                           "roll back")
        images = _images(cfg, workspace, commits, unit.path, automation)
        data = publish.RevertData(
            application=str(unit.key), automation=str(automation.key),
            reverted=[publish.RevertedCommit(c.sha, c.title) for c in commits], images=images,
        )
        message = publish.render_revert_message(options.message_template, data)
        shas = [c.sha for c in commits]
        files = workspace.revert_files(shas, onto=target.sha, path=unit.path)
        report = RollbackReport(unit.key, automation.key, unit.path, tuple(commits), tuple(images),
                                tuple(sorted(files)), message)
        if options.dry_run or not files:
            return report
        def forge() -> publish.Forge:
            assert pr is not None
            return publish.forge_for(pr, workspace.url, lambda: config.forge_credentials(secrets, pr.forge))

        published = publish.revert(
            workspace, automation, target=target, commits=shas, path=unit.path, message=message,
            pull_request=pr, head=branch_for(unit.key), body=_body(report),
            forge=forge if pr is not None else None,
            options=publish.PublishOptions(signing_key=signing, push_attempts=options.push_attempts,
                                           sleep=options.sleep, before_push=options.before_push),
        )
    opened = published.pull_requests[0] if published.pull_requests else None
    report = dataclasses.replace(report, revision=published.revision, pull_request=opened)
    recorded = opened.url if opened is not None else str(published.revision)
    for image in images:
        policy = ObjectKey(*image.policy.split("/", 1))
        state.record_rollback(Rollback(policy, Tag(image.rolled_back), recorded, now, str(unit.key)))
    return report


def _body(report: RollbackReport) -> str:
    lines = [f"Rolls back **{report.application}** (`{report.path or '.'}`) by reverting:", ""]
    lines += [f"- {c.sha[:12]} {c.title}" for c in report.reverted]
    if report.images:
        lines += ["", "| image | rolled back | restored |", "| --- | --- | --- |"]
        lines += [f"| {i.image} | {i.rolled_back} | {i.restored or '(removed)'} |" for i in report.images]
    lines += ["", "imagebot will not propose the rolled-back tags again until a newer tag appears."]
    return "\n".join(lines) + "\n"


def rollback_summary(report: RollbackReport) -> Mapping[str, object]:
    """The report as JSON-ready data (``imagebot rollback --json``)."""
    return {
        "application": str(report.application), "automation": str(report.automation), "path": report.path,
        "reverted": [{"sha": c.sha, "title": c.title} for c in report.reverted],
        "images": [{"policy": i.policy, "image": i.image, "rolled_back": i.rolled_back,
                    "restored": i.restored} for i in report.images],
        "files": list(report.files), "message": report.message,
        "revision": report.revision.sha if report.revision else None,
        "pull_request": report.pull_request.url if report.pull_request else None,
    }
