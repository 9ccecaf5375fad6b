"""What the setters changed: per file, per marked field, with the Kubernetes object it sits in.

Produced by :mod:`imagebot.setters` (``setters.apply``); consumed by publish (which builds Flux's
template views ``.Changed.FileChanges`` / ``.Objects`` / ``.Changes`` from it, in
:mod:`imagebot.publish._templatedata`) and the CLI.
Paths are POSIX strings relative to the repository root the setters ran on.
``Edits`` is what the pipeline hands publish: a ``ChangeSet`` and the new bytes it commits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from imagebot.model.ids import ObjectKey

__all__ = ["ChangeSet", "Edits", "FieldChange", "FileChange", "FileProblem", "ObjectId"]


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


@dataclasses.dataclass(frozen=True, slots=True)
class Edits:
    """What the setters produced on one commit's files: the report and the new bytes of each
    changed file (path relative to the root the setters ran on) — all a commit of publish holds.

    >>> Edits(ChangeSet()).files
    {}
    """

    changes: ChangeSet
    files: Mapping[str, bytes] = dataclasses.field(default_factory=dict)
