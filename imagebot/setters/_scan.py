"""Attach marker comments to the scalar values they follow, in the text of one file.

A marker counts when it is the line comment right after a plain or quoted scalar value (a
mapping value or a sequence item; inside a multi-line flow collection a ``,`` may sit between).
Everything else that mentions ``$imagepolicy`` in a real comment becomes a warning; mentions
inside scalars (block scalars, quoted strings) are text, not comments, and are ignored.
Called by :mod:`imagebot.setters._edit` (apply) and :mod:`imagebot.setters._discover` (markers).
"""

from __future__ import annotations

import dataclasses
import re

from imagebot import yamldoc
from imagebot.setters._markers import Comment, Marker, find_comments
from imagebot.yamldoc import Scalar

__all__ = ["Attached", "Scan", "scan"]

_TAIL_BLOCK = re.compile(r"[ \t]+#")
_TAIL_FLOW = re.compile(r"[ \t]*,[ \t]+#|[ \t]+#")
_ATTACHABLE = frozenset({"plain", "single", "double"})


@dataclasses.dataclass(frozen=True, slots=True)
class Attached:
    """A valid marker and the scalar it follows; ``line`` is the marker's (and scalar's) line."""

    marker: Marker
    scalar: Scalar
    line: int


@dataclasses.dataclass(frozen=True, slots=True)
class Scan:
    scalars: list[Scalar]
    markers: list[Attached]
    problems: list[tuple[int, str]]
    """``(line, message)`` for comments that look like markers but are left alone."""


def scan(text: str) -> Scan:
    """Parse ``text`` and attach its markers; raises :class:`~imagebot.yamldoc.YAMLSyntaxError`."""
    scalars = yamldoc.locate_scalars(text)
    comments = [c for c in find_comments(text) if c.offset >= 0]
    if not comments:
        return Scan(scalars, [], [])
    by_offset = {comment.offset: comment for comment in comments}
    markers: list[Attached] = []
    problems: list[tuple[int, str]] = []
    used: set[int] = set()
    for scalar in scalars:
        if not scalar.path or scalar.style not in _ATTACHABLE:
            continue
        tail = (_TAIL_FLOW if scalar.flow else _TAIL_BLOCK).match(text, scalar.end)
        comment = by_offset.get(tail.end() - 1) if tail is not None else None
        if comment is None:
            continue
        used.add(comment.offset)
        if comment.marker is not None:
            markers.append(Attached(comment.marker, scalar, comment.line))
        else:
            problems.append((comment.line, f"not a marker: {comment.problem}"))
    for comment in comments:
        if comment.offset not in used:
            problem = _unattached(text, comment, scalars)
            if problem:
                problems.append((comment.line, problem))
    problems.sort()
    return Scan(scalars, markers, problems)


def _unattached(text: str, comment: Comment, scalars: list[Scalar]) -> str:
    for scalar in scalars:
        if scalar.start <= comment.offset < scalar.end:
            header_end = text.find("\n", scalar.start)
            if scalar.style in ("literal", "folded") and comment.offset < header_end:
                return "a marker after a block scalar indicator (| or >) is not supported"
            return ""  # text inside a scalar, not a comment
    if comment.marker is None:
        return f"not a marker: {comment.problem}"
    return (
        "marker ignored: it must be the line comment after a scalar value "
        "(not after a key, an alias, a block or flow collection)"
    )
