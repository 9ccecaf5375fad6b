"""Digests only where needed: after the policies chose, look up what the selected tags (and the
tags the files hold now) point at, and where the changing images come from.

The scan itself lists tags only (``--digests all`` aside), so a first run costs what a later one
does (issue 9). Called by :func:`imagebot.pipeline.run_automation` through a ``Refresh``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, Protocol

from imagebot import config
from imagebot.model import flux
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.scans import ScanResult, TagFacts
from imagebot.model.selections import Evaluation

__all__ = ["DigestPolicy", "Refresh", "refreshed"]

DigestPolicy = Literal["none", "selected", "all"]
"""Which digests a run looks up: ``selected`` (default) the tag each policy selects and the tag its
fields hold now, one ``HEAD`` each, just before writing; ``all`` also every listed tag during the
scan; ``none`` nothing (digests already in the state store are still used)."""


class Refresh(Protocol):
    """What the selected tags point at now (and their source URLs); ``scan.refresh`` in practice."""

    def __call__(
        self, wanted: Sequence[tuple[flux.ImageRepository, Sequence[Tag]]], *, sources: bool
    ) -> Mapping[ObjectKey, TagFacts]: ...


def refreshed(
    cfg: config.Config, scans: Mapping[ObjectKey, ScanResult], evaluations: Iterable[Evaluation],
    refresh: Refresh, *, current: Mapping[ObjectKey, Tag], sources: bool,
) -> tuple[dict[ObjectKey, ScanResult], dict[str, str]]:
    """Scans with the current digests of the selected tags and of the tags the fields hold now
    (where the registry still lists them), and (``sources``) image name → source URL for the tags
    that change (a source look-up costs manifest GETs, pulls on Docker Hub).

    These are the only digests a run needs (``:digest`` markers, ``digestReflectionPolicy``,
    re-pushed tags), so the scan itself lists tags only: a first run costs what a later one does.
    """
    selected: dict[ObjectKey, set[Tag]] = {}
    changing: dict[ObjectKey, set[Tag]] = {}
    for evaluation in evaluations:
        repository = cfg.image_policies[evaluation.policy].repository
        now_in_files = current.get(evaluation.policy)
        listed = scans[repository].tags if repository in scans else None
        if now_in_files is not None and listed is not None and now_in_files in listed.tags:
            selected.setdefault(repository, set()).add(now_in_files)
        if evaluation.selection is not None:
            selected.setdefault(repository, set()).add(evaluation.selection.tag)
            if evaluation.selection.tag != now_in_files:
                changing.setdefault(repository, set()).add(evaluation.selection.tag)

    def ask(wanted: dict[ObjectKey, set[Tag]], *, with_sources: bool) -> Mapping[ObjectKey, TagFacts]:
        return refresh([(cfg.image_repositories[key], sorted(tags)) for key, tags in sorted(wanted.items())],
                       sources=with_sources)

    updated = dict(scans)
    for key, facts in ask(selected, with_sources=False).items():
        result = updated.get(key)
        if result is not None and result.tags is not None and facts.digests:
            tags = dataclasses.replace(result.tags, digests={**result.tags.digests, **facts.digests})
            updated[key] = dataclasses.replace(result, tags=tags)
    urls: dict[str, str] = {}
    if sources and changing:
        for key, facts in ask(changing, with_sources=True).items():
            for url in facts.sources.values():
                urls[cfg.image_repositories[key].image.name] = url
    return updated, urls
