"""Flux objects imagebot reads from ``policies/``: the image and source toolkit kinds.

Produced by :mod:`imagebot.config` (which validates every field and names the key path on error);
consumed by scan (``ImageRepository``), policy (``ImagePolicy``), setters and publish
(``ImageUpdateAutomation``, ``GitRepository``). Field names follow Flux's ``v1`` API; older
``v1beta1``/``v1beta2`` spellings are normalised by config.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Literal

from imagebot.model.ids import ObjectKey
from imagebot.model.images import ImageRepo

__all__ = [
    "DEFAULT_EXCLUSIONS",
    "AlphabeticalChoice",
    "CommitSpec",
    "DigestReflection",
    "GitRef",
    "GitRepository",
    "HealthCheckRef",
    "ImagePolicy",
    "ImageRepository",
    "ImageUpdateAutomation",
    "Kustomization",
    "KustomizeImageSpec",
    "NumericalChoice",
    "PolicyChoice",
    "PushSpec",
    "SemverChoice",
    "TagFilter",
]

DEFAULT_EXCLUSIONS: tuple[str, ...] = (r"^.*\.sig$",)
"""Flux's default ``exclusionList``; any user-supplied list replaces it (not merged)."""

DigestReflection = Literal["Never", "IfNotPresent", "Always"]


@dataclasses.dataclass(frozen=True, slots=True)
class ImageRepository:
    key: ObjectKey
    image: ImageRepo
    interval: datetime.timedelta
    timeout: datetime.timedelta
    exclusion_list: tuple[str, ...] = DEFAULT_EXCLUSIONS
    secret_ref: str | None = None
    """Name of a ``kubernetes.io/dockerconfigjson`` secret (resolved from the secrets dir/env)."""
    cert_secret_ref: str | None = None
    """Name of a secret holding ``ca.crt`` (and optionally ``tls.crt``/``tls.key``)."""
    insecure: bool = False
    """Plain-HTTP registry."""
    provider: str = "generic"
    suspend: bool = False
    source: str = ""
    """Where the object was read from (``file.yaml#2``), for messages."""
    include_artifacts: bool = False
    """Offer signature, attestation and SBOM tags and non-image artifacts as candidates too
    (annotation ``imagebot.dev/include-artifacts: "true"``); by default they never are."""


@dataclasses.dataclass(frozen=True, slots=True)
class TagFilter:
    pattern: str
    """An RE2 pattern searched (not full-matched) in each tag."""
    extract: str = ""
    """Go-style ``$name``/``${name}`` template; empty means "filter only"."""


@dataclasses.dataclass(frozen=True, slots=True)
class SemverChoice:
    range: str


@dataclasses.dataclass(frozen=True, slots=True)
class AlphabeticalChoice:
    order: Literal["asc", "desc"] = "asc"


@dataclasses.dataclass(frozen=True, slots=True)
class NumericalChoice:
    order: Literal["asc", "desc"] = "asc"


PolicyChoice = SemverChoice | AlphabeticalChoice | NumericalChoice


@dataclasses.dataclass(frozen=True, slots=True)
class ImagePolicy:
    key: ObjectKey
    repository: ObjectKey
    choice: PolicyChoice
    """The one rule that applies (semver > alphabetical > numerical when several are given)."""
    filter: TagFilter | None = None
    digest_reflection: DigestReflection = "Never"
    interval: datetime.timedelta | None = None
    min_age: datetime.timedelta | None = None
    """imagebot cooldown: a tag must have been seen this long before it may be selected."""
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    source: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class GitRef:
    """A checkout reference; the first non-empty of commit > name > semver > tag > branch wins."""

    branch: str | None = None
    tag: str | None = None
    semver: str | None = None
    name: str | None = None
    commit: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class GitRepository:
    key: ObjectKey
    url: str
    ref: GitRef = GitRef(branch="master")
    secret_ref: str | None = None
    interval: datetime.timedelta | None = None
    source: str = ""
    timeout: datetime.timedelta = datetime.timedelta(seconds=60)
    """Deadline of each network git operation (``spec.timeout``; Flux's default is 60s)."""


@dataclasses.dataclass(frozen=True, slots=True)
class CommitSpec:
    author_name: str
    author_email: str
    message_template: str | None = None
    signing_key_secret: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PushSpec:
    branch: str | None = None
    refspec: str | None = None
    options: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class ImageUpdateAutomation:
    key: ObjectKey
    source: ObjectKey
    """The GitRepository to update."""
    commit: CommitSpec
    checkout: GitRef | None = None
    """Overrides the GitRepository's ref when set."""
    push: PushSpec | None = None
    update_path: str = "."
    """Directory (relative to the repository root) that setters walk."""
    policy_selector: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """``matchLabels`` limiting which ImagePolicies apply; empty means all in the namespace."""
    interval: datetime.timedelta | None = None
    suspend: bool = False
    source_file: str = ""
    api_version: str = "image.toolkit.fluxcd.io/v1"
    """As written: a ``v1beta1`` automation's messageTemplate sees Flux v1beta1's ``.Updated``."""
    promote_after: ObjectKey | None = None
    """Annotation ``imagebot.dev/promote-after: <namespace>/<application>``: the change waits until
    that Application is Synced and Healthy at a revision running the same image tags."""

    def selects(self, policy: ImagePolicy) -> bool:
        """Whether this automation applies ``policy``: its namespace, and ``policySelector`` matches."""
        return policy.key.namespace == self.key.namespace and all(
            policy.labels.get(key) == value for key, value in self.policy_selector.items()
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Kustomization:
    """A Flux ``kustomize.toolkit.fluxcd.io`` Kustomization: one sync unit of the sync stage."""

    key: ObjectKey
    source: ObjectKey
    """The GitRepository whose tree holds ``path``."""
    path: str = "."
    prune: bool = False
    target_namespace: str | None = None
    """Overrides the namespace of every namespaced object (Flux semantics)."""
    images: tuple[KustomizeImageSpec, ...] = ()
    health_checks: tuple[HealthCheckRef, ...] = ()
    wait: bool = False
    timeout: datetime.timedelta | None = None
    depends_on: tuple[ObjectKey, ...] = ()
    interval: datetime.timedelta | None = None
    suspend: bool = False
    source_file: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class KustomizeImageSpec:
    """``spec.images[]`` of a Flux Kustomization (kustomize's ``images`` field)."""

    name: str
    new_name: str | None = None
    new_tag: str | None = None
    digest: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class HealthCheckRef:
    """``spec.healthChecks[]``: an object whose health gates the Kustomization's readiness."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None
