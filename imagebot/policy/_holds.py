"""Rolled-back tags: a policy does not propose a tag rolled back in Git until a newer one appears.

Called by the pipeline (``imagebot run``/``plan``/``serve``) with the rollbacks ``imagebot
rollback`` recorded in the state store: :func:`newer_than` keeps only the tags that rank strictly
above the rolled-back tag under the policy's own rule, so the rolled-back tag and every tag ranked
at or below it are never selected again.
"""

from __future__ import annotations

import dataclasses

from imagebot.model import flux, images
from imagebot.model.ids import Tag
from imagebot.policy._base import Order, outranks
from imagebot.policy._evaluate import compile_policy

__all__ = ["newer_than"]


def newer_than(tags: images.TagList, spec: flux.ImagePolicy, rolled_back: Tag) -> images.TagList | None:
    """``tags`` without ``rolled_back`` and every tag the policy ranks at or below it; None when
    ``rolled_back`` is not comparable under the policy any more (its filter or rule changed since:
    the hold no longer applies)."""
    compiled = compile_policy(spec)

    def order_of(tag: Tag) -> Order | None:
        value: str | None = tag
        if compiled.filter is not None:
            value = compiled.filter.value(tag)
        return None if value is None else compiled.policy.order(value)

    limit = order_of(rolled_back)
    if limit is None:
        return None
    kept = []
    for tag in tags.tags:
        order = order_of(tag)
        if order is not None and tag != rolled_back and outranks(order, limit):
            kept.append(tag)
    return dataclasses.replace(tags, tags=tuple(kept))
