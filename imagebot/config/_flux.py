"""Flux objects (image and source toolkits) from raw YAML to :mod:`imagebot.model.flux` types.

Called by :mod:`imagebot.config._loader` once per document; every error names the file, the
document and the key path (``policies/app.yaml#2: spec.policy.semver.range: is required``).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping

from imagebot.config._fields import Fields, parse_duration
from imagebot.errors import ConfigError
from imagebot.model import flux, ids, images

__all__ = [
    "MIN_AGE_ANNOTATION",
    "PROMOTE_AFTER_ANNOTATION",
    "parse_git_repository",
    "parse_image_policy",
    "parse_image_repository",
    "parse_image_update_automation",
    "parse_kustomization",
    "parse_metadata",
]

MIN_AGE_ANNOTATION = "imagebot.dev/min-age"
PROMOTE_AFTER_ANNOTATION = "imagebot.dev/promote-after"
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
ARTIFACTS_ANNOTATION = "imagebot.dev/include-artifacts"
DEFAULT_NAMESPACE = "default"
_GIT_TIMEOUT = datetime.timedelta(seconds=60)  # GitRepository.spec.timeout, as Flux

_REFLECTIONS: dict[str, flux.DigestReflection] = {
    "Never": "Never", "IfNotPresent": "IfNotPresent", "Always": "Always",
}


def parse_metadata(doc: Fields) -> tuple[ids.ObjectKey, dict[str, str], dict[str, str]]:
    meta = doc.sub("metadata", required=True)
    assert meta is not None
    name = meta.string("name")
    namespace = meta.string("namespace", DEFAULT_NAMESPACE)
    return ids.ObjectKey(namespace, name), meta.str_map("labels"), meta.str_map("annotations")


def parse_image_repository(doc: Fields) -> flux.ImageRepository:
    key, _, annotations = parse_metadata(doc)
    include_artifacts = annotations.get(ARTIFACTS_ANNOTATION, "false")
    if include_artifacts not in ("true", "false"):
        raise doc.error("metadata", f"annotations.{ARTIFACTS_ANNOTATION}: expected \"true\" or \"false\", "
                                    f"got {include_artifacts!r}")
    spec = doc.sub("spec", required=True)
    assert spec is not None
    try:
        image = images.parse_image_repo(spec.string("image"))
    except ValueError as exc:
        raise spec.error("image", str(exc)) from None
    interval = spec.duration("interval") or datetime.timedelta(minutes=5)
    timeout = spec.duration("timeout") or interval
    exclusions = spec.str_list("exclusionList")
    secret = spec.sub("secretRef")
    cert = spec.sub("certSecretRef")
    return flux.ImageRepository(
        key=key,
        image=image,
        interval=interval,
        timeout=max(timeout, datetime.timedelta(seconds=1)),
        # a non-empty user list replaces Flux's default; it is never merged (flux-semantics §2.1)
        exclusion_list=exclusions if exclusions else flux.DEFAULT_EXCLUSIONS,
        secret_ref=secret.string("name") if secret else None,
        cert_secret_ref=cert.string("name") if cert else None,
        insecure=spec.flag("insecure"),
        provider=spec.choice("provider", ("generic", "aws", "azure", "gcp"), "generic"),
        suspend=spec.flag("suspend"),
        source=doc.where,
        include_artifacts=include_artifacts == "true",
    )


def _policy_choice(spec: Fields) -> flux.PolicyChoice:
    choice = spec.sub("policy", required=True)
    assert choice is not None
    # precedence when several are given: semver > alphabetical > numerical (as Flux)
    semver = choice.sub("semver")
    if semver is not None:
        return flux.SemverChoice(range=semver.string("range"))
    for kind, cls in (("alphabetical", flux.AlphabeticalChoice), ("numerical", flux.NumericalChoice)):
        if kind not in choice:
            continue
        rule = choice.sub_or_empty(kind)  # `alphabetical: {}` and a bare `alphabetical:` alike
        order = rule.string("order", "asc").lower()
        if order not in ("asc", "desc"):
            raise rule.error("order", f"must be asc or desc, got {order!r}")
        return cls(order="asc" if order == "asc" else "desc")
    raise ConfigError(
        f"{choice.where}: {choice.path}: needs one of semver, alphabetical or numerical"
    )


def parse_image_policy(doc: Fields) -> flux.ImagePolicy:
    key, labels, annotations = parse_metadata(doc)
    spec = doc.sub("spec", required=True)
    assert spec is not None
    ref = spec.sub("imageRepositoryRef", required=True)
    assert ref is not None
    repository = ids.ObjectKey(ref.string("namespace", key.namespace), ref.string("name"))
    filter_fields = spec.sub("filterTags")
    tag_filter = None
    if filter_fields is not None:
        tag_filter = flux.TagFilter(
            pattern=filter_fields.string("pattern", ".*") or ".*",
            extract=filter_fields.string("extract", ""),
        )
    reflection = spec.choice("digestReflectionPolicy", ("Never", "IfNotPresent", "Always"), "Never")
    interval = spec.duration("interval")
    if interval is not None and reflection != "Always":
        raise spec.error("interval", "is only allowed with digestReflectionPolicy: Always")
    min_age = spec.duration("minAge")
    if MIN_AGE_ANNOTATION in annotations:
        try:
            min_age = parse_duration(annotations[MIN_AGE_ANNOTATION])
        except ValueError as exc:
            raise ConfigError(
                f"{doc.where}: metadata.annotations.{MIN_AGE_ANNOTATION}: {exc}"
            ) from None
    return flux.ImagePolicy(
        key=key,
        repository=repository,
        choice=_policy_choice(spec),
        filter=tag_filter,
        digest_reflection=_REFLECTIONS[reflection],
        interval=interval,
        min_age=min_age,
        labels=labels,
        source=doc.where,
    )


def _git_ref(ref: Fields | None) -> flux.GitRef | None:
    if ref is None:
        return None
    return flux.GitRef(
        branch=ref.opt_string("branch"),
        tag=ref.opt_string("tag"),
        semver=ref.opt_string("semver"),
        name=ref.opt_string("name"),
        commit=ref.opt_string("commit"),
    )


def parse_git_repository(doc: Fields) -> flux.GitRepository:
    key, _, _ = parse_metadata(doc)
    spec = doc.sub("spec", required=True)
    assert spec is not None
    secret = spec.sub("secretRef")
    return flux.GitRepository(
        key=key,
        url=spec.string("url"),
        ref=_git_ref(spec.sub("ref")) or flux.GitRef(branch="master"),
        secret_ref=secret.string("name") if secret else None,
        interval=spec.duration("interval"),
        source=doc.where,
        timeout=max(spec.duration("timeout") or _GIT_TIMEOUT, datetime.timedelta(milliseconds=100)),
    )


def _git_source_ref(spec: Fields) -> Fields:
    """``spec.sourceRef``, which must name a GitRepository (the only source imagebot reads)."""
    source = spec.sub("sourceRef", required=True)
    assert source is not None
    kind = source.string("kind", "GitRepository")
    if kind != "GitRepository":
        raise source.error("kind", f"only GitRepository is supported, got {kind!r}")
    return source


def _promote_after(doc: Fields, annotations: Mapping[str, str]) -> ids.ObjectKey | None:
    text = annotations.get(PROMOTE_AFTER_ANNOTATION)
    if text is None:
        return None
    namespace, sep, name = text.strip().partition("/")
    if not sep or not _DNS_NAME.match(namespace) or not _DNS_NAME.match(name):
        raise ConfigError(
            f"{doc.where}: metadata.annotations.{PROMOTE_AFTER_ANNOTATION}: expected "
            f"<namespace>/<application> (e.g. argocd/web-staging), got {text!r}"
        )
    return ids.ObjectKey(namespace, name)


def parse_image_update_automation(doc: Fields) -> flux.ImageUpdateAutomation:
    key, _, annotations = parse_metadata(doc)
    spec = doc.sub("spec", required=True)
    assert spec is not None
    source = _git_source_ref(spec)
    git = spec.sub_or_empty("git")
    commit = git.sub("commit", required=True)
    assert commit is not None
    author = commit.sub("author", required=True)
    assert author is not None
    signing = commit.sub("signingKey")
    signing_secret = signing.sub("secretRef") if signing else None
    checkout = git.sub("checkout")
    push = git.sub("push")
    update = spec.sub_or_empty("update")
    strategy = update.string("strategy", "Setters")
    if strategy != "Setters":
        raise update.error("strategy", f"only Setters is supported, got {strategy!r}")
    selector = spec.sub("policySelector")
    return flux.ImageUpdateAutomation(
        key=key,
        source=ids.ObjectKey(source.string("namespace", key.namespace), source.string("name")),
        commit=flux.CommitSpec(
            author_name=author.string("name", ""),  # optional in Flux; only email is required
            author_email=author.string("email"),
            message_template=commit.opt_string("messageTemplate"),
            signing_key_secret=signing_secret.string("name") if signing_secret else None,
        ),
        checkout=_git_ref(checkout.sub("ref")) if checkout else None,
        push=flux.PushSpec(
            branch=push.opt_string("branch"),
            refspec=push.opt_string("refspec"),
            options=push.str_map("options"),
        ) if push else None,
        update_path=update.string("path", "."),
        policy_selector=selector.str_map("matchLabels") if selector else {},
        interval=spec.duration("interval"),
        suspend=spec.flag("suspend"),
        source_file=doc.where,
        api_version=doc.string("apiVersion"),
        promote_after=_promote_after(doc, annotations),
    )


def parse_kustomization(doc: Fields) -> flux.Kustomization:
    """A Flux ``kustomize.toolkit.fluxcd.io`` Kustomization (what the sync stage applies)."""
    key, _, _ = parse_metadata(doc)
    spec = doc.sub("spec", required=True)
    assert spec is not None
    source = _git_source_ref(spec)
    return flux.Kustomization(
        key=key,
        source=ids.ObjectKey(source.string("namespace", key.namespace), source.string("name")),
        path=spec.string("path", "."),
        prune=spec.flag("prune"),
        target_namespace=spec.opt_string("targetNamespace"),
        images=tuple(
            flux.KustomizeImageSpec(
                name=image.string("name"), new_name=image.opt_string("newName"),
                new_tag=image.opt_string("newTag"), digest=image.opt_string("digest"),
            )
            for image in _sub_list(spec, "images")
        ),
        health_checks=tuple(
            flux.HealthCheckRef(
                api_version=check.string("apiVersion", "v1"), kind=check.string("kind"),
                name=check.string("name"), namespace=check.opt_string("namespace"),
            )
            for check in _sub_list(spec, "healthChecks")
        ),
        wait=spec.flag("wait"),
        timeout=spec.duration("timeout"),
        depends_on=tuple(
            ids.ObjectKey(dep.string("namespace", key.namespace), dep.string("name"))
            for dep in _sub_list(spec, "dependsOn")
        ),
        interval=spec.duration("interval"),
        suspend=spec.flag("suspend"),
        source_file=doc.where,
    )


def _sub_list(spec: Fields, key: str) -> list[Fields]:
    raw = spec.raw(key)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise spec.error(key, "expected a list")
    prefix = f"{spec.path}.{key}" if spec.path else key
    return [Fields(item, spec.where, f"{prefix}[{i}]") for i, item in enumerate(raw)]
