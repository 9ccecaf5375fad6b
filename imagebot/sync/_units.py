"""Sync units: an Argo CD Application or a Flux Kustomization, reduced to what the engine needs.

Built by :func:`units` from a loaded :class:`imagebot.config.Config` (called by the ``sync`` and
``apps`` commands); everything below works on :class:`SyncUnit` only, so both kinds share one
render/apply/prune path.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from imagebot.errors import ConfigError
from imagebot.model import argo, flux
from imagebot.model.flux import GitRef
from imagebot.model.ids import ObjectKey

__all__ = ["IN_CLUSTER", "SyncUnit", "git_ref", "select", "units"]

IN_CLUSTER = "https://kubernetes.default.svc"
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclasses.dataclass(frozen=True, slots=True)
class SyncUnit:
    """One Application or Kustomization: where its manifests are, where they go, how to sync."""

    kind: Literal["Application", "Kustomization"]
    key: ObjectKey
    repo_url: str
    ref: GitRef
    path: str
    source_file: str
    directory: argo.DirectorySource | None = None
    kustomize: argo.KustomizeSource | None = None
    namespace: str | None = None
    """Namespace given to namespaced objects that have none."""
    override_namespace: bool = False
    """Flux ``targetNamespace``: every namespaced object goes there."""
    server: str = IN_CLUSTER
    cluster_name: str | None = None
    automated: bool = False
    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    options: tuple[str, ...] = ()
    retry: argo.RetryPolicy | None = None
    ignore: tuple[argo.IgnoreDifference, ...] = ()
    depends_on: tuple[ObjectKey, ...] = ()
    health_checks: tuple[flux.HealthCheckRef, ...] = ()
    wait: bool = False
    timeout: datetime.timedelta | None = None
    interval: datetime.timedelta | None = None
    """How often ``imagebot serve`` reconciles it (Flux ``spec.interval``; None: the loop's default)."""
    history_limit: int = 10
    """Sync history entries kept (Argo CD ``revisionHistoryLimit``; Flux keeps 5)."""
    application_set: ObjectKey | None = None
    """The ApplicationSet that generated the Application."""

    @property
    def name(self) -> str:
        """How the CLI names the unit: ``argocd/shop-dev`` or ``Kustomization flux-system/apps``."""
        return str(self.key) if self.kind == "Application" else f"Kustomization {self.key}"

    @property
    def tracking_name(self) -> str:
        """The ``<app>`` part of the tracking id, as Argo CD writes it."""
        if self.kind == "Kustomization":
            return f"kustomization.{self.key.namespace}_{self.key.name}"
        # Argo CD: the bare name for Applications in its own namespace, namespace_name otherwise
        return self.key.name if self.key.namespace == "argocd" else f"{self.key.namespace}_{self.key.name}"

    def option(self, name: str) -> bool:
        """Whether sync option ``Name=true`` is set (``PruneLast``, ``CreateNamespace``, …)."""
        found = False
        for option in self.options:
            key, _, value = option.partition("=")
            if key.strip() == name:
                found = value.strip().lower() == "true"
        return found


def git_ref(target_revision: str) -> GitRef:
    """Argo CD's ``targetRevision``: ``HEAD`` (default branch), a commit SHA, a full ref, or a
    branch or tag name (tried as a branch first; see :func:`imagebot.sync._source.checkout`)."""
    revision = target_revision.strip()
    if revision in ("", "HEAD"):
        return GitRef()
    if _SHA.match(revision):
        return GitRef(commit=revision)
    if revision.startswith("refs/"):
        return GitRef(name=revision)
    return GitRef(branch=revision)


def _from_application(app: argo.Application) -> SyncUnit:
    policy = app.sync_policy
    return SyncUnit(
        kind="Application",
        key=app.key,
        repo_url=app.source.repo_url,
        ref=git_ref(app.source.target_revision),
        path=app.source.path,
        source_file=app.source_file,
        directory=app.source.directory,
        kustomize=app.source.kustomize,
        namespace=app.destination_namespace,
        server=app.destination_server,
        cluster_name=app.destination_name,
        automated=policy.automated,
        prune=policy.prune,
        self_heal=policy.self_heal,
        allow_empty=policy.allow_empty,
        options=policy.options,
        retry=policy.retry,
        ignore=app.ignore_differences,
        history_limit=app.revision_history_limit,
        application_set=app.application_set,
    )


def _from_kustomization(
    ks: flux.Kustomization, repositories: Mapping[ObjectKey, flux.GitRepository],
) -> SyncUnit:
    repository = repositories.get(ks.source)
    if repository is None:
        raise ConfigError(
            f"{ks.source_file}: Kustomization {ks.key}: spec.sourceRef: GitRepository {ks.source} not found"
        )
    images = tuple(argo.KustomizeImage(i.name, i.new_name, i.new_tag, i.digest) for i in ks.images)
    return SyncUnit(
        kind="Kustomization",
        key=ks.key,
        repo_url=repository.url,
        ref=repository.ref,
        path=ks.path,
        source_file=ks.source_file,
        kustomize=argo.KustomizeSource(images=images) if images else None,
        namespace=ks.target_namespace,
        override_namespace=ks.target_namespace is not None,
        automated=True,  # a Kustomization is always reconciled by its controller
        prune=ks.prune,
        self_heal=True,
        depends_on=ks.depends_on,
        health_checks=ks.health_checks,
        wait=ks.wait,
        timeout=ks.timeout,
        interval=ks.interval,
        history_limit=5,
    )


def units(
    applications: Sequence[argo.Application],
    kustomizations: Sequence[flux.Kustomization] = (),
    repositories: Mapping[ObjectKey, flux.GitRepository] | None = None,
) -> list[SyncUnit]:
    """Every sync unit: Applications (those ApplicationSets generated included, see
    :func:`imagebot.sync.generate`), then Kustomizations ordered after what they ``dependsOn``
    (cycles are errors)."""
    found = [_from_application(a) for a in sorted(applications, key=lambda a: a.key)]
    flux_units = {k.key: _from_kustomization(k, repositories or {})
                  for k in sorted(kustomizations, key=lambda k: k.key) if not k.suspend}
    ordered: list[SyncUnit] = []
    state: dict[ObjectKey, str] = {}

    def visit(key: ObjectKey, chain: tuple[ObjectKey, ...]) -> None:
        if state.get(key) == "done":
            return
        if state.get(key) == "visiting":
            cycle = " -> ".join(str(k) for k in (*chain, key))
            raise ConfigError(f"Kustomization dependsOn cycle: {cycle}")
        unit = flux_units[key]
        state[key] = "visiting"
        for dependency in unit.depends_on:
            if dependency not in flux_units:
                raise ConfigError(
                    f"{unit.source_file}: Kustomization {key}: spec.dependsOn: {dependency} not found"
                )
            visit(dependency, (*chain, key))
        state[key] = "done"
        ordered.append(unit)

    for key in flux_units:
        visit(key, ())
    return found + ordered


def select(all_units: Sequence[SyncUnit], names: Sequence[str]) -> list[SyncUnit]:
    """The units named ``NAME`` or ``NAMESPACE/NAME`` (all when ``names`` is empty)."""
    if not names:
        return list(all_units)
    chosen: list[SyncUnit] = []
    for name in names:
        namespace, sep, short = name.rpartition("/")
        matches = [u for u in all_units if u.key.name == short and (not sep or u.key.namespace == namespace)]
        if not matches:
            known = ", ".join(str(u.key) for u in all_units) or "none"
            raise ConfigError(f"{name}: no such Application or Kustomization (known: {known})")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen
