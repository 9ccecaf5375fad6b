"""The setters stage's entry points: plan the edits of a tree, write them, or both (``apply``).

``plan`` reads every candidate file (the cheap ``$imagepolicy`` prefilter first, so files without
markers are never parsed) and computes new bytes; ``write`` replaces the changed files atomically.
Called through :mod:`imagebot.setters` by the pipeline and the ``set`` command.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from imagebot.model.changes import ChangeSet, FileChange, FileProblem
from imagebot.model.ids import ObjectKey
from imagebot.model.images import ImageRef
from imagebot.setters import _edit, _files, _values
from imagebot.setters._markers import KEYWORD
from imagebot.setters._write import replace_file

__all__ = ["FileEdit", "Plan", "apply", "plan", "read_file", "write"]

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
    """What :func:`write` would do; ``changeset`` is the report a dry run returns."""

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


def plan(
    values: Mapping[ObjectKey, ImageRef], *, root: Path, paths: Sequence[Path] = (),
    ignore: Sequence[str] = (),
) -> Plan:
    """Compute the edits that ``values`` make to the marked fields under ``paths``.

    ``root`` is the repository root: nothing outside it is read or written, and reported paths
    are relative to it. ``paths`` (files or directories, relative to ``root``; empty means the
    whole root) and ``ignore`` (extra ``.gitignore``-style patterns, relative to ``root``) choose
    the files. Raises ``ValueError`` if a value is not a valid image reference.
    """
    for ref in values.values():
        _values.check_ref(ref)
    root = root.resolve(strict=True)
    found, problems = _files.collect(root, paths, ignore=ignore)
    edits: list[FileEdit] = []
    errors = list(problems)
    warnings: list[FileProblem] = []
    markers: dict[ObjectKey, tuple[str, int]] = {}
    for item in found:
        try:
            data = read_file(item.path)
        except OSError as exc:
            errors.append(FileProblem(item.rel, 0, f"cannot read: {exc.strerror or exc}"))
            continue
        if _KEYWORD not in data:
            continue
        try:
            edited = _edit.edit(data, values, path=item.rel)
        except _edit.Unprocessable as exc:
            errors.append(exc.problem)
            continue
        warnings.extend(FileProblem(item.rel, line, message) for line, message in edited.warnings)
        for policy, line in edited.markers:
            markers.setdefault(policy, (item.rel, line))
        if edited.changes:
            edits.append(FileEdit(item.path, FileChange(item.rel, edited.changes), data, edited.data))
    for problem in errors:
        logger.error("%s", problem)
    for problem in warnings:
        logger.warning("%s", problem)
    return Plan(root, tuple(edits), tuple(errors), tuple(warnings), markers)


def write(planned: Plan) -> ChangeSet:
    """Write every edit of ``planned`` atomically; a file that changed on disk since it was read,
    or cannot be written, is left alone and reported as an error instead of a change."""
    written: list[FileChange] = []
    errors = list(planned.errors)
    for edit in planned.edits:
        rel = edit.change.path
        try:
            if read_file(edit.path) != edit.before:
                problem = FileProblem(rel, 0, "changed on disk since it was read; not written")
            else:
                replace_file(edit.path, edit.after)
                written.append(edit.change)
                logger.info("%s: %d field(s) updated", rel, len(edit.change.changes))
                continue
        except OSError as exc:
            problem = FileProblem(rel, 0, f"cannot write: {exc.strerror or exc}")
        logger.error("%s", problem)
        errors.append(problem)
    return ChangeSet(files=tuple(written), errors=tuple(errors), warnings=planned.warnings)


def apply(
    values: Mapping[ObjectKey, ImageRef], *, root: Path, paths: Sequence[Path] = (),
    dry_run: bool = False, ignore: Sequence[str] = (),
) -> ChangeSet:
    """Rewrite the marked fields under ``paths`` with ``values`` (see :func:`plan`); with
    ``dry_run`` nothing is written and the returned ChangeSet says what would change."""
    planned = plan(values, root=root, paths=paths, ignore=ignore)
    return planned.changeset if dry_run else write(planned)


def read_file(path: Path) -> bytes:
    """The bytes of ``path``, refusing to follow a symbolic link in its last component."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        return handle.read()
