"""Field changes summarised per image: the lines of the default commit message and the PR table.

A ``ChangeSet`` records marked *fields*; a reader wants *images*. One image in one file can span
several fields (``:name`` + ``:tag`` + ``:digest``), and one image can change in several files.
Used by :mod:`imagebot.publish._templatedata` (``images`` in templates) and
:mod:`imagebot.publish._body` (the pull-request table).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

from imagebot.model.changes import ChangeSet, FieldChange
from imagebot.model.ids import ObjectKey
from imagebot.model.selections import Selection

__all__ = ["ImageLine", "ImageUpdate", "image_lines", "image_updates", "safe_url", "split_ref"]

_FIELDS = ("tag", "name", "digest")


@dataclasses.dataclass(frozen=True, slots=True)
class ImageLine:
    """One image in one file: ``ghcr.io/org/app 1.0.0 → 1.0.1``."""

    file: str
    policy: ObjectKey
    image: str
    old: str
    new: str
    field: str
    """``ref`` (the whole ``name:tag[@digest]``), ``tag``, ``digest`` or ``name``."""

    def __str__(self) -> str:
        return f"{self.image} {self.old} → {self.new}"


@dataclasses.dataclass(frozen=True, slots=True)
class ImageUpdate:
    """One image (one policy) over every file it changed in."""

    policy: ObjectKey
    image: str
    olds: tuple[str, ...]
    """Distinct old values, in file order (usually one)."""
    new: str
    files: tuple[str, ...]
    selection: Selection | None = None
    source: str | None = None
    """The image's source repository (OCI ``org.opencontainers.image.source``), when known and a
    plain http(s) URL (:func:`safe_url`): registry-controlled text never reaches a body otherwise."""

    @property
    def old(self) -> str:
        return ", ".join(self.olds)

    @property
    def downgrade(self) -> bool:
        return self.selection is not None and self.selection.downgrade

    def __str__(self) -> str:
        return f"{self.image} {self.old} → {self.new}"


def split_ref(value: str) -> tuple[str, str]:
    """``ghcr.io/a/b:1.0@sha256:…`` → (``ghcr.io/a/b``, ``1.0@sha256:…``); no tag → (value, "")."""
    ref, at, digest = value.partition("@")
    colon = ref.rfind(":")
    if colon > ref.rfind("/"):
        name, tag = ref[:colon], ref[colon + 1:]
    else:
        name, tag = ref, ""
    return name, tag + (at + digest if at else "")


def field_of(setter: str) -> str:
    parts = setter.split(":")
    return parts[2] if len(parts) == 3 and parts[2] in _FIELDS else "ref"


def image_lines(changes: ChangeSet, selections: Mapping[ObjectKey, Selection]) -> tuple[ImageLine, ...]:
    """One line per (file, policy), files in path order, policies in first-line order."""
    lines: list[ImageLine] = []
    for file in changes.files:
        groups: dict[ObjectKey, list[FieldChange]] = {}
        for change in file.changes:
            groups.setdefault(change.policy, []).append(change)
        for policy, group in groups.items():
            lines.append(_line(file.path, policy, group, selections.get(policy)))
    return tuple(lines)


def _line(path: str, policy: ObjectKey, group: list[FieldChange], selection: Selection | None) -> ImageLine:
    by_field = {field_of(change.setter): change for change in group}
    if "ref" in by_field:
        change = by_field["ref"]
        new_name, new_rest = split_ref(change.new_value)
        old_name, old_rest = split_ref(change.old_value)
        old = old_rest if old_name == new_name and old_rest else change.old_value
        return ImageLine(path, policy, new_name, old, new_rest or change.new_value, "ref")
    if selection is not None:
        image = selection.repo.name
    elif "name" in by_field:
        image = by_field["name"].new_value
    else:
        image = str(policy)
    field = next(f for f in ("tag", "digest", "name") if f in by_field)
    change = by_field[field]
    return ImageLine(path, policy, image, change.old_value, change.new_value, field)


def image_updates(
        lines: Iterable[ImageLine],
        selections: Mapping[ObjectKey, Selection],
        sources: Mapping[str, str],
) -> tuple[ImageUpdate, ...]:
    """Lines merged per policy, sorted by image then policy."""
    grouped: dict[ObjectKey, list[ImageLine]] = {}
    for line in lines:
        grouped.setdefault(line.policy, []).append(line)
    updates = []
    for policy, group in grouped.items():
        selection = selections.get(policy)
        image = group[0].image
        source = sources.get(image)
        if source is None and selection is not None:
            source = sources.get(selection.repo.name) or sources.get(selection.repo.canonical)
        source = safe_url(source) if source is not None else None
        updates.append(ImageUpdate(
            policy=policy,
            image=image,
            olds=tuple(dict.fromkeys(line.old for line in group)),
            new=group[-1].new,
            files=tuple(dict.fromkeys(line.file for line in group)),
            selection=selection,
            source=source,
        ))
    return tuple(sorted(updates, key=lambda u: (u.image, u.policy)))


# registry-controlled text (the source label) is kept only when it is a plain http(s) URL: a host,
# an optional port and a path with no whitespace, quotes, brackets, parentheses or HTML
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?"
                       r"(?:/[A-Za-z0-9._~!$&*+,;=:@%/?#-]*)?")


def safe_url(text: str) -> str | None:
    """``text`` when it is a plain ``http(s)://`` URL safe to put in a Markdown link, else None."""
    return text if len(text) <= 2048 and _SAFE_URL.fullmatch(text) else None
