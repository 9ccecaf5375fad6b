"""One read and one parse per marked file, serving every question a run asks of a tree.

``read(root, paths)`` collects the candidate files, reads each once, skips those without
``$imagepolicy`` (the cheap prefilter) and parses the rest; the :class:`Tree` then tells what the
markers hold now (``held``) and plans any values (``plan``) from memory, without touching the
files again. A :class:`Documents` cache shared by a run's trees keys each parse by path and
content, so a file read again — from another commit's copy after a rejected push, by another
automation on the same repository — is parsed again only if its bytes differ. Called by the
pipeline (through :mod:`imagebot.setters`) and by :func:`imagebot.setters.plan`.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from imagebot.model.changes import ChangeSet, FileChange, FileProblem
from imagebot.model.ids import ObjectKey
from imagebot.model.images import ImageRef
from imagebot.setters import _edit, _files, _values
from imagebot.setters._markers import KEYWORD, Marker

__all__ = ["Documents", "FileEdit", "MarkedFile", "Plan", "Tree", "read"]

logger = logging.getLogger("imagebot.setters")

_KEYWORD = KEYWORD.encode()


@dataclasses.dataclass(frozen=True, slots=True)
class FileEdit:
    """One file to rewrite: where, what changes, and its bytes before and after."""

    path: Path
    change: FileChange
    before: bytes
    after: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """What :func:`imagebot.setters.write` would do; ``changeset`` is the report a dry run returns."""

    root: Path
    edits: tuple[FileEdit, ...] = ()
    errors: tuple[FileProblem, ...] = ()
    warnings: tuple[FileProblem, ...] = ()
    markers: Mapping[ObjectKey, tuple[str, int]] = dataclasses.field(default_factory=dict)
    """Each policy some marker names → where its first marker is (path, line), changed or not."""

    @property
    def changeset(self) -> ChangeSet:
        files = tuple(edit.change for edit in self.edits)
        return ChangeSet(files=files, errors=self.errors, warnings=self.warnings)

    def diff(self) -> str:
        """The edits as a unified diff (``a/<path>``, ``b/<path>``), what ``imagebot plan`` shows."""
        chunks: list[str] = []
        for edit in self.edits:
            before = edit.before.decode("utf-8", "replace").splitlines(keepends=True)
            after = edit.after.decode("utf-8", "replace").splitlines(keepends=True)
            path = edit.change.path
            chunks.extend(difflib.unified_diff(before, after, f"a/{path}", f"b/{path}"))
        return "".join(chunks)


class Documents:
    """Parsed files of one run, keyed by (path relative to the root, bytes); a file that cannot
    be parsed is remembered as its problem. Not shared between runs (the files change)."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, bytes], _edit.Parsed | FileProblem] = {}

    def parse(self, data: bytes, *, path: str) -> _edit.Parsed:
        """``data`` (the file at ``path``) parsed, once; raises :class:`_edit.Unprocessable`."""
        key = (path, data)
        parsed = self._parsed.get(key)
        if parsed is None:
            try:
                parsed = _edit.parse(data, path=path)
            except _edit.Unprocessable as exc:
                parsed = exc.problem
            self._parsed[key] = parsed
        if isinstance(parsed, FileProblem):
            raise _edit.Unprocessable(parsed)
        return parsed

    def __len__(self) -> int:
        return len(self._parsed)


@dataclasses.dataclass(frozen=True, slots=True)
class MarkedFile:
    """A file that mentions ``$imagepolicy`` and parsed: its bytes as read, and the parse."""

    path: Path
    """The file's real path (inside the resolved root), where ``write`` puts the new bytes."""
    rel: str
    data: bytes
    parsed: _edit.Parsed


@dataclasses.dataclass(frozen=True, slots=True)
class Tree:
    """The marked files under a root, read and parsed once (see the module)."""

    root: Path
    files: tuple[MarkedFile, ...] = ()
    errors: tuple[FileProblem, ...] = ()
    """Paths that could not be used, files that could not be read or parsed, in file order."""

    def held(self) -> Iterator[tuple[Marker, str]]:
        """Every valid marker and the value its field holds now, in path and text order."""
        for file in self.files:
            for attached in file.parsed.found.markers:
                yield attached.marker, attached.scalar.value

    def plan(self, values: Mapping[ObjectKey, ImageRef]) -> Plan:
        """The edits ``values`` make to the marked fields (see :func:`imagebot.setters.plan`);
        raises ``ValueError`` if a value is not a valid image reference."""
        for ref in values.values():
            _values.check_ref(ref)
        edits: list[FileEdit] = []
        warnings: list[FileProblem] = []
        markers: dict[ObjectKey, tuple[str, int]] = {}
        for file in self.files:
            edited = _edit.edit(file.data, values, path=file.rel, parsed=file.parsed)
            warnings.extend(FileProblem(file.rel, line, message) for line, message in edited.warnings)
            for policy, line in edited.markers:
                markers.setdefault(policy, (file.rel, line))
            if edited.changes:
                change = FileChange(file.rel, edited.changes)
                edits.append(FileEdit(file.path, change, file.data, edited.data))
        for problem in self.errors:
            logger.error("%s", problem)
        for problem in warnings:
            logger.warning("%s", problem)
        return Plan(self.root, tuple(edits), self.errors, tuple(warnings), markers)


def read(
    root: Path, paths: Sequence[Path] = (), *, ignore: Sequence[str] = (), documents: Documents | None = None,
) -> Tree:
    """Read and parse the marked files under ``paths`` (see :func:`imagebot.setters.plan` for
    ``root``, ``paths`` and ``ignore``); ``documents`` reuses parses of identical files."""
    root = root.resolve(strict=True)
    documents = documents if documents is not None else Documents()
    found, problems = _files.collect(root, paths, ignore=ignore)
    files: list[MarkedFile] = []
    errors = list(problems)
    for item in found:
        try:
            data = _files.read_file(item.path)
        except OSError as exc:
            errors.append(FileProblem(item.rel, 0, f"cannot read: {exc.strerror or exc}"))
            continue
        if _KEYWORD not in data:
            continue
        try:
            files.append(MarkedFile(item.path, item.rel, data, documents.parse(data, path=item.rel)))
        except _edit.Unprocessable as exc:
            errors.append(exc.problem)
    return Tree(root, tuple(files), tuple(errors))
