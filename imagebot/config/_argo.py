"""Argo CD ``Application`` from raw YAML to :mod:`imagebot.model.argo` types.

Parsed now so a user's files load unchanged; the sync stage consumes them. The Applications an
ApplicationSet generates (:mod:`imagebot.config._appset`) are read by the same rules, through
:func:`parse_generated_application`, which the sync stage is given as a value.
"""

from __future__ import annotations

import dataclasses
import datetime

from imagebot.config._fields import Fields
from imagebot.config._flux import parse_metadata
from imagebot.model import argo, ids

__all__ = ["application_spec", "parse_application", "parse_generated_application", "parse_kustomize_image"]


def parse_kustomize_image(text: str) -> argo.KustomizeImage:
    """Argo's ``kustomize.images`` form: ``[old=]new[:tag][@digest]`` (as ``kustomize edit set image``)."""
    old, sep, new = text.partition("=")
    if not sep:
        old, new = "", text
    digest = None
    if "@" in new:
        new, digest = new.split("@", 1)
    tag = None
    last = new.rsplit("/", 1)[-1]
    if ":" in last:
        new, tag = new.rsplit(":", 1)
    if not new:
        raise ValueError(f"{text!r}: expected [NAME=]IMAGE[:TAG][@DIGEST]")
    if not old:
        return argo.KustomizeImage(name=new, new_tag=tag, digest=digest)
    return argo.KustomizeImage(name=old, new_name=new, new_tag=tag, digest=digest)


def _directory(source: Fields) -> argo.DirectorySource | None:
    directory = source.sub("directory")
    if directory is None:
        return None
    return argo.DirectorySource(
        recurse=directory.flag("recurse"),
        include=directory.string("include", ""),
        exclude=directory.string("exclude", ""),
    )


def _kustomize(source: Fields) -> argo.KustomizeSource | None:
    kustomize = source.sub("kustomize")
    if kustomize is None:
        return None
    images = []
    for index, text in enumerate(kustomize.str_list("images") or ()):
        try:
            images.append(parse_kustomize_image(text))
        except ValueError as exc:
            raise kustomize.error(f"images[{index}]", str(exc)) from None
    return argo.KustomizeSource(
        images=tuple(images),
        name_prefix=kustomize.string("namePrefix", ""),
        name_suffix=kustomize.string("nameSuffix", ""),
        namespace=kustomize.string("namespace", ""),
        common_labels=kustomize.str_map("commonLabels"),
    )


def _retry(policy: Fields) -> argo.RetryPolicy | None:
    retry = policy.sub("retry")
    if retry is None:
        return None
    backoff = retry.sub_or_empty("backoff")
    limit = retry.raw("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise retry.error("limit", f"expected an integer, got {limit!r}")
    factor = backoff.raw("factor")
    if factor is not None and (isinstance(factor, bool) or not isinstance(factor, int | float) or factor < 1):
        raise backoff.error("factor", f"expected a number >= 1, got {factor!r}")
    return argo.RetryPolicy(
        limit=0 if limit is None else limit,  # Argo CD: no limit, no retry
        duration=backoff.duration("duration") or datetime.timedelta(seconds=5),
        factor=2.0 if factor is None else float(factor),
        max_duration=backoff.duration("maxDuration") or datetime.timedelta(minutes=3),
    )


def _ignore_differences(spec: Fields) -> tuple[argo.IgnoreDifference, ...]:
    raw = spec.raw("ignoreDifferences")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise spec.error("ignoreDifferences", "expected a list")
    rules = []
    for index, item in enumerate(raw):
        rule = Fields(item, spec.where, f"{spec.path}.ignoreDifferences[{index}]" if spec.path
                      else f"ignoreDifferences[{index}]")
        pointers = rule.str_list("jsonPointers") or ()
        for pointer in pointers:
            if pointer and not pointer.startswith("/"):
                raise rule.error("jsonPointers", f"{pointer!r} is not a JSON pointer (starts with /)")
        rules.append(argo.IgnoreDifference(
            kind=rule.string("kind"),
            group=rule.string("group", ""),
            name=rule.opt_string("name"),
            namespace=rule.opt_string("namespace"),
            json_pointers=pointers,
            jq_path_expressions=rule.str_list("jqPathExpressions") or (),
            managed_fields_managers=rule.str_list("managedFieldsManagers") or (),
        ))
    return tuple(rules)


def application_spec(key: ids.ObjectKey, spec: Fields, where: str) -> argo.Application:
    source = spec.sub("source")
    if source is None:
        sources = spec.raw("sources")
        if isinstance(sources, list) and sources:
            source = Fields(sources[0], where, f"{spec.path}.sources[0]")
        else:
            raise spec.error("source", "is required")
    destination = spec.sub_or_empty("destination")
    policy = spec.sub_or_empty("syncPolicy")
    automated = policy.sub("automated")
    return argo.Application(
        key=key,
        source=argo.ApplicationSource(
            repo_url=source.string("repoURL"),
            path=source.string("path", "."),
            target_revision=source.string("targetRevision", "HEAD"),
            directory=_directory(source),
            kustomize=_kustomize(source),
        ),
        destination_server=destination.string("server", "https://kubernetes.default.svc"),
        destination_name=destination.opt_string("name"),
        destination_namespace=destination.opt_string("namespace"),
        project=spec.string("project", "default"),
        sync_policy=argo.SyncPolicy(
            automated=automated is not None or "automated" in policy,
            prune=automated.flag("prune") if automated else False,
            self_heal=automated.flag("selfHeal") if automated else False,
            options=policy.str_list("syncOptions") or (),
            allow_empty=automated.flag("allowEmpty") if automated else False,
            retry=_retry(policy),
        ),
        ignore_differences=_ignore_differences(spec),
        revision_history_limit=_history_limit(spec),
        source_file=where,
    )


def _history_limit(spec: Fields) -> int:
    limit = spec.raw("revisionHistoryLimit")
    if limit is None:
        return 10
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise spec.error("revisionHistoryLimit", f"expected an integer >= 0, got {limit!r}")
    return limit


def parse_application(doc: Fields) -> argo.Application:
    key, _, _ = parse_metadata(doc)
    spec = doc.sub("spec", required=True)
    assert spec is not None
    return application_spec(key, spec, doc.where)


def parse_generated_application(raw: object, where: str, application_set: ids.ObjectKey) -> argo.Application:
    """An Application an ApplicationSet rendered (``metadata`` and ``spec``); it lives in the
    ApplicationSet's namespace whatever the template says, as in Argo CD."""
    doc = Fields(raw, where)
    meta = doc.sub_or_empty("metadata")
    spec = doc.sub("spec", required=True)
    assert spec is not None
    key = ids.ObjectKey(application_set.namespace, meta.string("name"))
    app = application_spec(key, spec, where)
    return dataclasses.replace(app, application_set=application_set)
