"""What the setters changed: per file, per marked field, with the Kubernetes object it sits in.

Produced by :mod:`imagebot.setters` (``setters.apply``); consumed by publish (commit message and
pull-request templates: Flux's ``.Changed.FileChanges`` / ``.Objects`` / ``.Changes``) and the CLI.
Paths are POSIX strings relative to the repository root the setters ran on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from imagebot.model.ids import ObjectKey

__all__ = ["ChangeSet", "FieldChange", "FileChange", "FileProblem", "ObjectId"]


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class ObjectId:
    """The Kubernetes object a field sits in; all empty for non-Kubernetes documents (compose)."""

    api_version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""

    def __str__(self) -> str:
        if not self.kind:
            return "-"
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind}/{where}"


@dataclasses.dataclass(frozen=True, slots=True)
class FieldChange:
    """One marked scalar whose value changed.

    ``setter`` is the marker value exactly as written, suffix included (``flux-system:app:tag``);
    ``old_value``/``new_value`` are the scalar's values (quotes not included).
    """

    line: int
    """1-based line of the marked scalar (the line carrying the marker comment)."""
    setter: str
    policy: ObjectKey
    old_value: str
    new_value: str
    object: ObjectId = ObjectId()


@dataclasses.dataclass(frozen=True, slots=True)
class FileChange:
    """Every change made to one file, in line order."""

    path: str
    changes: tuple[FieldChange, ...]

    @property
    def objects(self) -> Mapping[ObjectId, tuple[FieldChange, ...]]:
        """Changes grouped by object (Flux's per-file ``FileChanges[path]``), sorted by object."""
        grouped: dict[ObjectId, list[FieldChange]] = {}
        for change in self.changes:
            grouped.setdefault(change.object, []).append(change)
        return {key: tuple(grouped[key]) for key in sorted(grouped)}


@dataclasses.dataclass(frozen=True, slots=True)
class FileProblem:
    """A file left untouched (error) or a marker left alone (warning); ``line`` 0 when unknown."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


@dataclasses.dataclass(frozen=True, slots=True)
class ChangeSet:
    """The result of one setters run; ``files`` holds only files that changed, sorted by path.

    >>> ChangeSet().files
    ()

    ``errors`` are files that could not be processed (not parsed, not readable, not written);
    ``warnings`` are markers that were found but left alone (``:digest`` without a digest, an
    unknown setter suffix, a comment that mentions ``$imagepolicy`` but is not a marker).
    """

    files: tuple[FileChange, ...] = ()
    errors: tuple[FileProblem, ...] = ()
    warnings: tuple[FileProblem, ...] = ()

    @property
    def file_changes(self) -> Mapping[str, Mapping[ObjectId, tuple[FieldChange, ...]]]:
        """path → object → changes (Flux's ``.Changed.FileChanges``)."""
        return {file.path: file.objects for file in self.files}

    @property
    def objects(self) -> Mapping[ObjectId, tuple[FieldChange, ...]]:
        """object → changes merged over all files (Flux's ``.Changed.Objects``)."""
        grouped: dict[ObjectId, list[FieldChange]] = {}
        for file in self.files:
            for change in file.changes:
                grouped.setdefault(change.object, []).append(change)
        return {key: tuple(grouped[key]) for key in sorted(grouped)}

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        """Every change once per (old value, new value, setter), first seen first (``.Changes``)."""
        seen: dict[tuple[str, str, str], FieldChange] = {}
        for file in self.files:
            for change in file.changes:
                seen.setdefault((change.old_value, change.new_value, change.setter), change)
        return tuple(seen.values())
