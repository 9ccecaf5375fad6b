"""Rewrite the marked values of one file's bytes, splicing new text into the original.

ruamel only locates the marked scalars (:mod:`imagebot.setters._scan`); every byte outside the
replaced scalars is copied from the input, so comments, blank lines, CRLF, a BOM, ``---`` lines
and a missing final newline all survive. Called by :mod:`imagebot.setters._plan` for each file.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from imagebot import yamldoc
from imagebot.errors import MarkerError
from imagebot.model.changes import FieldChange, FileProblem
from imagebot.model.ids import ObjectKey
from imagebot.model.images import ImageRef
from imagebot.setters import _values
from imagebot.setters._objects import ObjectIndex
from imagebot.setters._scan import Attached, Scan, scan

__all__ = ["Edited", "Parsed", "Unprocessable", "decode", "edit", "parse"]

logger = logging.getLogger("imagebot.setters")

_STRING_TAGS = frozenset({None, "!", "tag:yaml.org,2002:str"})


class Unprocessable(MarkerError):
    """A file that cannot be edited; caught by the plan, which reports ``problem`` and goes on."""

    def __init__(self, problem: FileProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclasses.dataclass(frozen=True, slots=True)
class Edited:
    """The new bytes of a file (the input object itself when nothing changed)."""

    data: bytes
    changes: tuple[FieldChange, ...]
    warnings: tuple[tuple[int, str], ...]
    markers: tuple[tuple[ObjectKey, int], ...] = ()
    """Every marker's policy and line, changed or not (``imagebot set`` checks its --policy names)."""


def decode(data: bytes, path: str) -> str:
    """``data`` as text (a BOM stays, as one character); raises :class:`Unprocessable`."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise Unprocessable(FileProblem(path, line, "not UTF-8 text; file left untouched")) from exc


@dataclasses.dataclass(frozen=True, slots=True)
class Parsed:
    """One file's text with its scalars located and its markers attached (what ``edit`` needs)."""

    text: str
    found: Scan


def parse(data: bytes, *, path: str) -> Parsed:
    """Decode and parse ``data`` (the file at ``path``); raises :class:`Unprocessable`."""
    text = decode(data, path)
    try:
        return Parsed(text, scan(text))
    except yamldoc.YAMLSyntaxError as exc:
        problem = f"not valid YAML ({exc.problem}); file left untouched"
        raise Unprocessable(FileProblem(path, exc.line, problem)) from exc


def edit(
    data: bytes, values: Mapping[ObjectKey, ImageRef], *, path: str, parsed: Parsed | None = None,
) -> Edited:
    """Apply ``values`` to the markers in ``data`` (``parsed``: ``parse(data)`` done before);
    raises :class:`Unprocessable` if not YAML."""
    if parsed is None:
        parsed = parse(data, path=path)
    text, found = parsed.text, parsed.found
    warnings = list(found.problems)
    markers = tuple((attached.marker.policy, attached.line) for attached in found.markers)
    splices: list[tuple[int, int, str]] = []
    changes: list[FieldChange] = []
    objects: ObjectIndex | None = None
    for attached in found.markers:
        replacement = _replacement(attached, values, path, warnings)
        if replacement is None:
            continue
        scalar, new_value = attached.scalar, replacement[1]
        objects = objects or ObjectIndex(found.scalars)
        splices.append((scalar.start, scalar.end, replacement[0]))
        changes.append(FieldChange(
            line=attached.line, setter=attached.marker.setter, policy=attached.marker.policy,
            old_value=scalar.value, new_value=new_value, object=objects.object_of(scalar),
        ))
    if not splices:
        return Edited(data, (), tuple(sorted(warnings)), markers)
    pieces: list[str] = []
    cursor = 0
    for start, end, new_text in sorted(splices):
        pieces += (text[cursor:start], new_text)
        cursor = end
    pieces.append(text[cursor:])
    return Edited("".join(pieces).encode("utf-8"), tuple(changes), tuple(sorted(warnings)), markers)


def _replacement(
    attached: Attached, values: Mapping[ObjectKey, ImageRef], path: str,
    warnings: list[tuple[int, str]],
) -> tuple[str, str] | None:
    marker, scalar, line = attached.marker, attached.scalar, attached.line
    ref = values.get(marker.policy)
    if ref is None:
        logger.debug("%s:%d: no value for policy %s; marker left alone", path, line, marker.setter)
        return None
    new_value = _values.wanted(ref, marker.field)
    if new_value is None:
        warnings.append((line, f"{marker.setter}: the policy has no digest; value left unchanged"))
        return None
    if scalar.value == new_value:
        return None
    if scalar.tag not in _STRING_TAGS:
        warnings.append((line, f"{marker.setter}: value has explicit tag {scalar.tag}; left alone"))
        return None
    spelled = _values.spell(new_value, style=scalar.style, flow=scalar.flow)
    if scalar.start == scalar.end:  # an empty plain value: `tag:` becomes `tag: 1.2.3`
        spelled = " " + spelled
    return spelled, new_value
