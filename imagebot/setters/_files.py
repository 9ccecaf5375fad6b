"""Which files the setters visit: YAML files under the given paths, confined to the repository.

Directories are walked in name order; only ``*.yaml``, ``*.yml`` and ``Kustomization`` files are
taken (case-sensitive, as Flux), ``.git`` is skipped, and ``.gitignore``/``.imagebotignore``
files are honoured per directory (deeper files override, an ignored directory is not entered).
Symbolic links are never followed while walking; an explicit path that resolves outside the
root is refused. Called by :mod:`imagebot.setters._plan` and :mod:`imagebot.setters._discover`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from imagebot.model.changes import FileProblem
from imagebot.setters import _ignore
from imagebot.setters._ignore import Rules

__all__ = ["IGNORE_FILES", "Found", "collect", "read_file"]

logger = logging.getLogger("imagebot.setters")

IGNORE_FILES = (".gitignore", ".imagebotignore")
"""Per-directory pattern files, lowest precedence first."""

_Layer = tuple[str, Rules]


@dataclasses.dataclass(frozen=True, slots=True)
class Found:
    path: Path
    """The file's real path (inside the resolved root)."""
    rel: str
    """POSIX path relative to the root, as change reports show it."""


def collect(
    root: Path, paths: Sequence[Path], *, ignore: Sequence[str]
) -> tuple[list[Found], list[FileProblem]]:
    """Files under ``paths`` (files or directories, relative to ``root`` or absolute inside it;
    empty means ``root``), sorted by relative path; plus a problem for each unusable path.

    Explicitly named files are taken whatever their name and the ignore files say.
    """
    extra = _ignore.compile_rules(ignore)
    found: dict[Path, Found] = {}
    problems: list[FileProblem] = []
    for given in paths or (root,):
        full = given if given.is_absolute() else root / given
        real = full.resolve()
        shown = str(given)
        if not real.is_relative_to(root):
            problems.append(FileProblem(shown, 0, f"outside the repository root {root}; skipped"))
        elif real.is_file():
            found.setdefault(real, Found(real, real.relative_to(root).as_posix()))
        elif real.is_dir():
            for item in _walk(root, real, extra):
                found.setdefault(item.path, item)
        else:
            problems.append(FileProblem(shown, 0, f"no such file or directory under {root}"))
    return sorted(found.values(), key=lambda item: item.rel), problems


def read_file(path: Path) -> bytes:
    """The bytes of ``path``, refusing to follow a symbolic link in its last component."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def _walk(root: Path, start: Path, extra: Rules) -> Iterator[Found]:
    layers: list[_Layer] = []
    info_exclude = root / ".git" / "info" / "exclude"
    if info_exclude.is_file():
        layers.append(("", _read_rules(info_exclude)))
    directory = root
    for part in ("", *start.relative_to(root).parts):
        directory = directory / part if part else directory
        rel = directory.relative_to(root).as_posix()
        layers.extend(_layers_in(directory, "" if rel == "." else rel))
    start_rel = start.relative_to(root).as_posix()
    yield from _visit(start, "" if start_rel == "." else start_rel, layers, extra)


def _visit(directory: Path, rel: str, layers: list[_Layer], extra: Rules) -> Iterator[Found]:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as exc:
        logger.warning("%s: cannot list directory: %s", rel or ".", exc.strerror)
        return
    for entry in entries:
        child = f"{rel}/{entry.name}" if rel else entry.name
        if entry.is_symlink():
            logger.debug("%s: symbolic link not followed", child)
        elif entry.is_dir(follow_symlinks=False):
            if entry.name != ".git" and not _ignored(child, True, layers, extra):
                inner = layers + _layers_in(Path(entry.path), child)
                yield from _visit(Path(entry.path), child, inner, extra)
        elif (
            entry.is_file(follow_symlinks=False) and _is_yaml(entry.name)
            and not _ignored(child, False, layers, extra)
        ):
            yield Found(Path(entry.path), child)


def _is_yaml(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or name == "Kustomization"


def _layers_in(directory: Path, rel: str) -> list[_Layer]:
    return [
        (rel, _read_rules(directory / name))
        for name in IGNORE_FILES
        if (directory / name).is_file() and not (directory / name).is_symlink()
    ]


def _read_rules(path: Path) -> Rules:
    try:
        return _ignore.compile_rules(path.read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError as exc:
        logger.warning("%s: cannot read ignore file: %s", path, exc.strerror)
        return _ignore.compile_rules(())


def _ignored(rel: str, is_dir: bool, layers: list[_Layer], extra: Rules) -> bool:
    verdict: bool | None = None
    for base, rules in layers:
        if base and not rel.startswith(base + "/"):
            continue
        outcome = _ignore.match(rules, rel[len(base) + 1 :] if base else rel, is_dir=is_dir)
        if outcome is not None:
            verdict = outcome
    outcome = _ignore.match(extra, rel, is_dir=is_dir)
    return bool(outcome if outcome is not None else verdict)
