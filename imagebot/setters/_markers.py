"""The marker grammar: ``# {"$imagepolicy": "<namespace>:<policy>[:tag|:name|:digest]"}``.

A comment is a marker when its text, with every leading ``#`` removed, is a JSON object whose
values are all strings and whose ``"$imagepolicy"`` is non-empty (flux-semantics §5.1). This
module finds such comments in raw text; :mod:`imagebot.setters._scan` decides which ones are real
line comments after a scalar value.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Literal

from imagebot.model.ids import ObjectKey

__all__ = ["KEYWORD", "Comment", "Field", "Marker", "find_comments", "parse_marker"]

KEYWORD = "$imagepolicy"
"""The substring that makes a file worth parsing (the cheap prefilter)."""

Field = Literal["ref", "tag", "name", "digest"]
"""What a marker writes: the full ``name:tag[@digest]`` reference, or one part of it."""

_SUFFIXES: dict[str, Field] = {"tag": "tag", "name": "name", "digest": "digest"}
_COMMENT_START = re.compile(r"(?:^|(?<=[ \t]))#", re.MULTILINE)


@dataclasses.dataclass(frozen=True, slots=True)
class Marker:
    """A valid marker; ``setter`` is its ``$imagepolicy`` value verbatim (Flux's ``.Setter``)."""

    setter: str
    policy: ObjectKey
    field: Field


@dataclasses.dataclass(frozen=True, slots=True)
class Comment:
    """A comment that mentions ``$imagepolicy``: a marker, or the reason it is not one."""

    offset: int
    """Index of the comment's first ``#`` in the text."""
    line: int
    marker: Marker | None
    problem: str = ""


def parse_marker(comment: str) -> Marker | str:
    """The marker in ``comment`` (text from its first ``#``), or why it is not a valid one.

    >>> parse_marker('# {"$imagepolicy": "flux-system:app:tag"}').field
    'tag'
    """
    body = comment.lstrip("#").strip()
    try:
        data = json.loads(body)
    except ValueError:
        return "not a JSON object (use double quotes, nothing after the closing brace)"
    if not isinstance(data, dict):
        return "not a JSON object"
    if not all(isinstance(value, str) for value in data.values()):
        return "every value in the marker must be a string"
    setter = data.get(KEYWORD)
    if not setter:
        return f'no "{KEYWORD}" value'
    parts = setter.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        return f"{setter!r} is not <namespace>:<policy>[:tag|:name|:digest]"
    field: Field = "ref"
    if len(parts) == 3:
        if parts[2] not in _SUFFIXES:
            return f"unknown setter suffix {parts[2]!r} in {setter!r} (use :tag, :name or :digest)"
        field = _SUFFIXES[parts[2]]
    return Marker(setter=setter, policy=ObjectKey(parts[0], parts[1]), field=field)


def find_comments(text: str) -> list[Comment]:
    """Every comment-like ``#…`` on a line that mentions ``$imagepolicy``, in text order.

    Per line, the first ``#`` (after whitespace or at line start) whose rest parses as a marker
    wins; when none does, the ``#`` nearest before ``$imagepolicy`` is reported with the reason.
    Whether the ``#`` really starts a comment (and not text inside a quoted or block scalar) is
    decided later against the parsed scalars.
    """
    found: list[Comment] = []
    line, counted = 1, 0
    position = text.find(KEYWORD)
    while position >= 0:
        start = max(text.rfind("\n", 0, position), text.rfind("\r", 0, position)) + 1
        end = _line_end(text, position)
        line += text.count("\n", counted, start)
        counted = start
        found.append(_comment_on_line(text, start, end, position, line))
        position = text.find(KEYWORD, end)
    return found


def _line_end(text: str, position: int) -> int:
    ends = [i for i in (text.find("\n", position), text.find("\r", position)) if i >= 0]
    return min(ends) if ends else len(text)


def _comment_on_line(text: str, start: int, end: int, keyword: int, line: int) -> Comment:
    nearest = -1
    problem = "no '#' before it"
    for match in _COMMENT_START.finditer(text, start, end):
        offset = match.start()
        if offset > keyword:
            break
        parsed = parse_marker(text[offset:end])
        if isinstance(parsed, Marker):
            return Comment(offset=offset, line=line, marker=parsed)
        nearest, problem = offset, parsed
    return Comment(offset=nearest, line=line, marker=None, problem=problem)
