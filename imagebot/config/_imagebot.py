"""imagebot's own kinds (``imagebot.dev/v1alpha1``): ``RegistrySettings`` and ``PullRequest``.

Called by :mod:`imagebot.config._loader`; Flux and Argo CD ignore these kinds, so they can live
beside the Flux objects in the same directory.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from imagebot.config._fields import Fields
from imagebot.config._flux import parse_metadata
from imagebot.model.pullrequests import ForgeSpec, MergeMethod, PullRequestConfig, PullRequestSpec
from imagebot.model.registries import RegistrySettings

__all__ = ["parse_pull_request", "parse_registry_settings"]

_MERGE_METHODS: dict[str, MergeMethod] = {"merge": "merge", "squash": "squash", "rebase": "rebase"}
_PROVIDERS: dict[str, Literal["github"]] = {"github": "github"}


def parse_registry_settings(doc: Fields, current: RegistrySettings) -> RegistrySettings:
    spec = doc.sub("spec", required=True)
    assert spec is not None
    mirrors = dict(current.mirrors)
    raw_mirrors = spec.sub("mirrors")
    for host in raw_mirrors.keys() if raw_mirrors else []:
        assert raw_mirrors is not None
        endpoints = raw_mirrors.str_list(host)
        if not endpoints:
            raise raw_mirrors.error(host, "expected a non-empty list of endpoint URLs")
        for endpoint in endpoints:
            if not endpoint.startswith(("http://", "https://")):
                raise raw_mirrors.error(host, f"endpoint {endpoint!r} must start with http:// or https://")
        mirrors[host] = tuple(e.rstrip("/") for e in endpoints)
    insecure = spec.str_list("insecure") or ()
    limit = spec.raw("maxConnectionsPerRegistry")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise spec.error("maxConnectionsPerRegistry", "expected a positive integer")
    limit = limit if isinstance(limit, int) else None
    deadline = spec.duration("requestDeadline")
    max_tags = spec.raw("maxTags")
    if max_tags is not None and (not isinstance(max_tags, int) or isinstance(max_tags, bool) or max_tags < 1):
        raise spec.error("maxTags", "expected a positive integer")
    return dataclasses.replace(
        current,
        mirrors=mirrors,
        insecure=current.insecure | frozenset(insecure),
        max_connections_per_registry=limit or current.max_connections_per_registry,
        request_deadline=deadline.total_seconds() if deadline else current.request_deadline,
        max_tags=max_tags if isinstance(max_tags, int) else current.max_tags,
    )


def parse_pull_request(doc: Fields) -> PullRequestConfig:
    key, _, _ = parse_metadata(doc)
    spec = doc.sub_or_empty("spec")
    forge = spec.sub_or_empty("forge")
    secret = forge.sub("secretRef")
    auto_merge = spec.opt_string("autoMerge")
    if auto_merge is not None and auto_merge not in ("merge", "squash", "rebase"):
        raise spec.error("autoMerge", f"must be merge, squash or rebase, got {auto_merge!r}")
    group = spec.choice("group", ("automation", "per-image"), "automation")
    return PullRequestConfig(
        key=key,
        spec=PullRequestSpec(
            base=spec.opt_string("base"),
            group="per-image" if group == "per-image" else "automation",
            labels=spec.str_list("labels") or (),
            reviewers=spec.str_list("reviewers") or (),
            team_reviewers=spec.str_list("teamReviewers") or (),
            draft=spec.flag("draft"),
            auto_merge=_MERGE_METHODS.get(auto_merge or ""),
            body_template=spec.opt_string("bodyTemplate"),
        ),
        forge=ForgeSpec(
            provider=_PROVIDERS[forge.choice("provider", tuple(_PROVIDERS), "github")],
            api_url=forge.string("apiURL", "https://api.github.com").rstrip("/"),
            repository=forge.opt_string("repository"),
            secret_ref=secret.string("name") if secret else None,
        ),
        source=doc.where,
    )
