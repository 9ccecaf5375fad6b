"""Argo CD ``Application`` / ``ApplicationSet`` from raw YAML to :mod:`imagebot.model.argo` types.

Parsed now so a user's files load unchanged; the sync stage consumes them.
"""

from __future__ import annotations

from imagebot.config._fields import Fields
from imagebot.config._flux import parse_metadata
from imagebot.model import argo, ids

__all__ = ["parse_application", "parse_application_set"]


def _application_spec(key: ids.ObjectKey, spec: Fields, where: str) -> argo.Application:
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
        ),
        destination_server=destination.string("server", "https://kubernetes.default.svc"),
        destination_namespace=destination.opt_string("namespace"),
        project=spec.string("project", "default"),
        sync_policy=argo.SyncPolicy(
            automated=automated is not None or "automated" in policy,
            prune=automated.flag("prune") if automated else False,
            self_heal=automated.flag("selfHeal") if automated else False,
            options=policy.str_list("syncOptions") or (),
        ),
        source_file=where,
    )


def parse_application(doc: Fields) -> argo.Application:
    key, _, _ = parse_metadata(doc)
    spec = doc.sub("spec", required=True)
    assert spec is not None
    return _application_spec(key, spec, doc.where)


def parse_application_set(doc: Fields) -> argo.ApplicationSet:
    key, _, _ = parse_metadata(doc)
    spec = doc.sub("spec", required=True)
    assert spec is not None
    generators = spec.raw("generators")
    if not isinstance(generators, list):
        raise spec.error("generators", "expected a list")
    elements: list[dict[str, str]] = []
    for index, raw in enumerate(generators):
        generator = Fields(raw, doc.where, f"spec.generators[{index}]")
        listed = generator.sub("list")
        if listed is None:
            continue  # other generators (git, cluster, matrix) are accepted but not expanded yet
        items = listed.raw("elements")
        if not isinstance(items, list):
            raise listed.error("elements", "expected a list")
        for i, item in enumerate(items):
            elements.append(Fields(item, doc.where, f"{listed.path}.elements[{i}]").as_str_map())
    template = spec.sub("template", required=True)
    assert template is not None
    meta = template.sub_or_empty("metadata")
    name = meta.string("name")
    template_spec = template.sub("spec", required=True)
    assert template_spec is not None
    return argo.ApplicationSet(
        key=key,
        elements=tuple(elements),
        template=_application_spec(ids.ObjectKey(key.namespace, name), template_spec, doc.where),
        template_name=name,
        source_file=doc.where,
    )
