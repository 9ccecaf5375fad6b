"""The setters stage's entry points: plan the edits of a tree, write them, or both (``apply``).

``plan`` reads every candidate file (the cheap ``$imagepolicy`` prefilter first, so files without
markers are never parsed) and computes new bytes; ``write`` replaces the changed files atomically.
Called through :mod:`imagebot.setters` by the pipeline and the ``set`` command.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from imagebot.model.changes import ChangeSet, FileChange, FileProblem
from imagebot.model.ids import ObjectKey
from imagebot.model.images import ImageRef
from imagebot.setters import _files, _values
from imagebot.setters._tree import FileEdit, Plan, read
from imagebot.setters._write import replace_file

__all__ = ["FileEdit", "Plan", "apply", "plan", "write"]

logger = logging.getLogger("imagebot.setters")


def plan(
    values: Mapping[ObjectKey, ImageRef], *, root: Path, paths: Sequence[Path] = (),
    ignore: Sequence[str] = (),
) -> Plan:
    """Compute the edits that ``values`` make to the marked fields under ``paths``.

    ``root`` is the repository root: nothing outside it is read or written, and reported paths
    are relative to it. ``paths`` (files or directories, relative to ``root``; empty means the
    whole root) and ``ignore`` (extra ``.gitignore``-style patterns, relative to ``root``) choose
    the files. Raises ``ValueError`` if a value is not a valid image reference. (To ask a tree
    more than one question, :func:`imagebot.setters.read` it once and ask the ``Tree``.)
    """
    for ref in values.values():
        _values.check_ref(ref)
    return read(root, paths, ignore=ignore).plan(values)


def write(planned: Plan) -> ChangeSet:
    """Write every edit of ``planned`` atomically; a file that changed on disk since it was read,
    or cannot be written, is left alone and reported as an error instead of a change."""
    written: list[FileChange] = []
    errors = list(planned.errors)
    for edit in planned.edits:
        rel = edit.change.path
        try:
            if _files.read_file(edit.path) != edit.before:
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
