"""Which jobs a push concerns: the unit jobs whose repository, branch and path it touches, and the
ApplicationSet jobs whose git generators read what it changed. Pure functions over the loop's
units and the configuration; called by :class:`~imagebot.schedule._service.Service` for its own
pushes (an automation's) and for Git push webhooks (:mod:`imagebot.schedule._http`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from imagebot import config, sync
from imagebot.model import argo, flux, notification
from imagebot.model.ids import ObjectKey
from imagebot.schedule._apps import touches
from imagebot.schedule._hooks import Push
from imagebot.schedule._jobids import appset_job

__all__ = ["appsets_for_push", "appsets_for_receiver", "reads", "units_for_push", "units_for_receiver"]


def units_for_push(units: Mapping[str, sync.SyncUnit], url: str, branch: str | None,
                   paths: Iterable[str] | None) -> list[str]:
    """The unit jobs a push to ``url`` touches: same repository, the branch they follow
    (``None``: any), and — when the changed ``paths`` are known — their source path."""
    changed = None if paths is None else list(paths)
    return [job_id for job_id, unit in sorted(units.items())
            if _same_repository(unit.repo_url, url) and _pushed_to(unit, branch, changed)]


def units_for_receiver(units: Mapping[str, sync.SyncUnit], cfg: config.Config,
                       receiver: notification.Receiver, push: Push) -> list[str]:
    """The unit jobs a Git push webhook names: the Applications/Kustomizations the receiver
    lists (``name: '*'`` for all in its namespace), or those reading a GitRepository it lists;
    narrowed by the push's branch and changed paths when the payload says."""
    urls = _listed_repositories(cfg, receiver)
    changed = None if push.paths is None else list(push.paths)
    found = []
    for job_id, unit in sorted(units.items()):
        listed = (any(ref.matches(unit.kind, unit.key) for ref in receiver.resources)
                  or any(_same_repository(unit.repo_url, url) for url in urls))
        if listed and _pushed_to(unit, push.branch, changed):
            found.append(job_id)
    return found


def appsets_for_push(app_sets: Iterable[argo.ApplicationSet], url: str, branch: str | None, *,
                     explicit: bool = False) -> list[str]:
    """The ApplicationSet jobs a push of ``branch`` to ``url`` concerns: a git generator reads
    that repository at that branch (``explicit``: names the branch, for a pull request's)."""
    return [appset_job(a.key) for a in app_sets if reads(a, url, branch, explicit=explicit)]


def appsets_for_receiver(app_sets: Iterable[argo.ApplicationSet],
                         generated: Mapping[ObjectKey, Iterable[sync.SyncUnit]], cfg: config.Config,
                         receiver: notification.Receiver, push: Push) -> list[str]:
    """The ApplicationSet jobs a Git push webhook concerns: a git generator reads a
    GitRepository the receiver lists, or the receiver lists an Application it generated."""
    urls = _listed_repositories(cfg, receiver)
    found = []
    for app_set in app_sets:
        names = any(ref.matches("Application", u.key) for ref in receiver.resources
                    for u in generated.get(app_set.key, ()))
        if names or any(reads(app_set, url, push.branch) for url in urls):
            found.append(appset_job(app_set.key))
    return found


def reads(app_set: argo.ApplicationSet, url: str, branch: str | None, *, explicit: bool = False) -> bool:
    """Whether a push of ``branch`` to ``url`` may change what ``app_set`` generates: one of its git
    generators reads that repository (a templated ``repoURL`` may be any) at that branch
    (``explicit``: only a generator naming the branch, not one following the default branch)."""
    for generator in _git_generators(app_set.generators):
        if "{{" not in generator.repo_url and not _same_repository(generator.repo_url, url):
            continue
        followed = _followed_branch(sync.git_ref(generator.revision))
        if explicit and followed is None:
            continue
        if branch is None or followed is None or followed == branch or "{{" in generator.revision:
            return True
    return False


def _listed_repositories(cfg: config.Config, receiver: notification.Receiver) -> list[str]:
    return [r.url for r in cfg.git_repositories.values()
            if any(ref.matches("GitRepository", r.key) for ref in receiver.resources)]


def _git_generators(generators: Iterable[argo.Generator]) -> Iterable[argo.GitGenerator]:
    for generator in generators:
        if isinstance(generator, argo.GitGenerator):
            yield generator
        elif isinstance(generator, argo.MatrixGenerator | argo.MergeGenerator):
            yield from _git_generators(generator.generators)


def _pushed_to(unit: sync.SyncUnit, branch: str | None, changed: list[str] | None) -> bool:
    followed = _followed_branch(unit.ref)
    if branch is not None and followed is not None and followed != branch:
        return False  # another branch (or a tag, a pinned commit: "" follows no branch)
    return changed is None or touches(unit.path, changed)


def _followed_branch(ref: flux.GitRef) -> str | None:
    """The branch a unit follows; None for the default branch (any push may move it); "" for a
    tag, a semver range or a commit, which no branch push moves."""
    if ref.commit or ref.tag or ref.semver:
        return ""
    if ref.name:
        return ref.name.removeprefix("refs/heads/") if ref.name.startswith("refs/heads/") else ""
    return ref.branch


def _same_repository(a: str, b: str) -> bool:
    def plain(url: str) -> str:
        return url.strip().rstrip("/").removesuffix(".git").lower()
    return plain(a) == plain(b)
