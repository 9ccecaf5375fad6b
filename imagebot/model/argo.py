"""Argo CD objects imagebot reads from ``policies/`` (used by the sync stage).

Produced by :mod:`imagebot.config`; consumed by :mod:`imagebot.sync`, which turns an
:class:`Application` (and a Flux ``Kustomization``, :mod:`imagebot.model.flux`) into one sync unit.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping

from imagebot.model.ids import ObjectKey

__all__ = [
    "APPLICATIONS_SYNC",
    "Application",
    "ApplicationSet",
    "ApplicationSource",
    "DirectorySource",
    "Generator",
    "GitGenerator",
    "GitPathRule",
    "IgnoreDifference",
    "KustomizeImage",
    "KustomizeSource",
    "ListGenerator",
    "MatrixGenerator",
    "MergeGenerator",
    "RetryPolicy",
    "SyncPolicy",
    "Template",
    "UnsupportedGenerator",
]


@dataclasses.dataclass(frozen=True, slots=True)
class DirectorySource:
    """``spec.source.directory``: plain manifests, optionally recursive, filtered by globs."""

    recurse: bool = False
    include: str = ""
    """A glob (``*.yaml``) or a brace list of globs (``{a.yaml,b.yaml}``); empty means all."""
    exclude: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class KustomizeImage:
    """One image override: ``name`` as written in manifests, replaced by new name/tag/digest."""

    name: str
    new_name: str | None = None
    new_tag: str | None = None
    digest: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class KustomizeSource:
    """``spec.source.kustomize``: overrides applied on top of the overlay's kustomization."""

    images: tuple[KustomizeImage, ...] = ()
    name_prefix: str = ""
    name_suffix: str = ""
    namespace: str = ""
    common_labels: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class ApplicationSource:
    repo_url: str
    path: str = "."
    target_revision: str = "HEAD"
    directory: DirectorySource | None = None
    kustomize: KustomizeSource | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``syncPolicy.retry``: ``limit`` attempts after the first (below 0: until one succeeds; none
    given: no retry, as Argo CD), backoff doubling up to a cap."""

    limit: int = 0
    duration: datetime.timedelta = datetime.timedelta(seconds=5)
    factor: float = 2.0
    max_duration: datetime.timedelta = datetime.timedelta(minutes=3)


@dataclasses.dataclass(frozen=True, slots=True)
class SyncPolicy:
    automated: bool = False
    prune: bool = False
    self_heal: bool = False
    options: tuple[str, ...] = ()
    allow_empty: bool = False
    retry: RetryPolicy | None = None

    def option(self, name: str) -> str | None:
        """The value of ``Name=value`` in ``syncOptions`` (last one wins), or None."""
        found = None
        for option in self.options:
            key, _, value = option.partition("=")
            if key.strip() == name:
                found = value.strip()
        return found


@dataclasses.dataclass(frozen=True, slots=True)
class IgnoreDifference:
    """One ``spec.ignoreDifferences`` entry; ``group`` is ``""`` for the core API group."""

    kind: str
    group: str = ""
    name: str | None = None
    namespace: str | None = None
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Application:
    key: ObjectKey
    source: ApplicationSource
    destination_server: str = "https://kubernetes.default.svc"
    destination_namespace: str | None = None
    project: str = "default"
    sync_policy: SyncPolicy = SyncPolicy()
    source_file: str = ""
    destination_name: str | None = None
    """``spec.destination.name``: a cluster name, mapped to the kubeconfig context of that name."""
    ignore_differences: tuple[IgnoreDifference, ...] = ()
    revision_history_limit: int = 10
    """``spec.revisionHistoryLimit``: sync history entries kept (Argo CD's default, 10)."""
    application_set: ObjectKey | None = None
    """The ApplicationSet that generated this Application (None: written by hand)."""


Template = Mapping[str, object]
"""An ApplicationSet's ``template`` (``metadata`` and ``spec``) as written: every string (and map
key) may hold ``{{placeholders}}``, so it stays raw until it is rendered with one parameter set."""


@dataclasses.dataclass(frozen=True, slots=True)
class ListGenerator:
    """``list``: one parameter set per element (``elements``, then ``elementsYaml``)."""

    elements: tuple[Mapping[str, object], ...]
    path: str
    """Key path of the generator in its ApplicationSet (``spec.generators[0].list``), for errors."""
    elements_yaml: str = ""
    template: Template | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class GitPathRule:
    """One ``directories``/``files`` entry: a glob, and whether it excludes."""

    path: str
    exclude: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class GitGenerator:
    """``git``: one parameter set per matching directory, or per object of each matching file."""

    repo_url: str
    path: str
    revision: str = "HEAD"
    directories: tuple[GitPathRule, ...] = ()
    files: tuple[GitPathRule, ...] = ()
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)
    path_param_prefix: str = ""
    template: Template | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class MatrixGenerator:
    """``matrix``: every combination of two child generators' sets; the second child may use the
    first's parameters."""

    generators: tuple[Generator, ...]
    path: str
    template: Template | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class MergeGenerator:
    """``merge``: the first child's sets, each overridden by later children's sets with the same
    ``mergeKeys`` values."""

    generators: tuple[Generator, ...]
    merge_keys: tuple[str, ...]
    path: str
    template: Template | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class UnsupportedGenerator:
    """A generator imagebot does not run (``clusters``, ``pullRequest``, ``scmProvider``, …):
    expanding it is an error of its ApplicationSet, not of the whole configuration."""

    name: str
    path: str
    template: Template | None = None


Generator = ListGenerator | GitGenerator | MatrixGenerator | MergeGenerator | UnsupportedGenerator

APPLICATIONS_SYNC = ("create-only", "create-update", "create-delete", "sync")
"""``spec.syncPolicy.applicationsSync`` values (docs/sync.md says what each means for imagebot)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ApplicationSet:
    """An ApplicationSet: generators of parameter sets, and the template each set renders."""

    key: ObjectKey
    generators: tuple[Generator, ...]
    template: Template
    source_file: str = ""
    go_template: bool = False
    missing_key_error: bool = False
    """``goTemplateOptions: ["missingkey=error"]``: an unknown parameter fails the render."""
    template_patch: str | None = None
    preserve_resources_on_deletion: bool = False
    applications_sync: str = "sync"
    """One of :data:`APPLICATIONS_SYNC`."""
