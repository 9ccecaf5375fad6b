"""Digests only where needed: after the policies chose, look up what the selected tags point at,
and where the changing images come from.

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
"""Which digests a run looks up: ``selected`` (default) the tag each policy selects, one ``HEAD``
each, just before writing; ``all`` also every listed tag during the scan; ``none`` nothing
(digests already in the state store are still used).

A tag the fields hold now is looked up when its policy selects it again (its re-push is then
reported); one about to be replaced, or kept because the policy selects nothing, decides nothing
that is written, so it costs no request (Flux too reads the digest of the selected tag only)."""


class Refresh(Protocol):
    """What the selected tags point at now (and their source URLs); ``scan.refresh`` in practice."""

    def __call__(
        self, wanted: Sequence[tuple[flux.ImageRepository, Sequence[Tag]]], *, sources: bool
    ) -> Mapping[ObjectKey, TagFacts]: ...


def refreshed(
    cfg: config.Config, scans: Mapping[ObjectKey, ScanResult], evaluations: Iterable[Evaluation],
    refresh: Refresh, *, current: Mapping[ObjectKey, Tag], sources: bool,
) -> tuple[dict[ObjectKey, ScanResult], dict[str, str]]:
    """Scans with the current digests of the selected tags, and (``sources``) image name → source
    URL for the tags that change (a source look-up costs manifest GETs, pulls on Docker Hub).

    These are the only digests a run needs (``:digest`` markers, ``digestReflectionPolicy``,
    re-pushed tags), so the scan itself lists tags only: a first run costs what a later one does.
    """
    selected: dict[ObjectKey, set[Tag]] = {}
    changing: dict[ObjectKey, set[Tag]] = {}
    for evaluation in evaluations:
        if evaluation.selection is None:
            continue
        repository = cfg.image_policies[evaluation.policy].repository
        selected.setdefault(repository, set()).add(evaluation.selection.tag)
        if evaluation.selection.tag != current.get(evaluation.policy):
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
