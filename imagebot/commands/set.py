"""Write image references into the marked fields of YAML files, without asking any registry.

Every field marked with # {"$imagepolicy": "NS:NAME[:tag|:name|:digest]"} whose policy is given
with --policy gets that policy's reference (or the tag, name or digest part of it); everything
else in the files stays byte for byte. This is the step a CI pipeline runs after pushing an image:

  imagebot set --policy flux-system:app=ghcr.io/org/app:1.2.4 clusters/prod
  imagebot set --policy flux-system:app=ghcr.io/org/app:1.2.4@sha256:... --diff --dry-run .

A --policy that matches no marker under the PATHs (a mistyped name) is an error, with the
closest marker name suggested; --allow-unmatched accepts it. --json prints the report as JSON.

Exit status: 0 when files were updated or nothing needed to change, 1 when a file could not be
processed (it is left untouched and reported with its line) or a --policy matched no marker,
2 for bad arguments.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from imagebot import errors, names, setters
from imagebot.model.changes import ChangeSet, FileProblem
from imagebot.model.ids import Digest, ObjectKey, Tag
from imagebot.model.images import ImageRef

_LINES = re.compile(r"[^\n]*\n|[^\n]+")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", metavar="NS:NAME=IMAGE_REF", action="append", default=[], type=policy_value,
        help="the value for one policy, IMAGE_REF is name:tag or name:tag@sha256:... (repeatable)",
    )
    parser.add_argument("--dry-run", action="store_true", help="change no file; report only")
    parser.add_argument("--diff", action="store_true", help="print a unified diff of every change")
    parser.add_argument("--allow-unmatched", action="store_true",
                        help="a --policy that matches no marker is not an error")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON on stdout (files, lines, markers, old and new values)")
    add_tree_options(parser)


def add_tree_options(parser: argparse.ArgumentParser, *, optional_paths: bool = False) -> None:
    parser.add_argument(
        "--root", type=Path, default=None,
        help="repository root; nothing outside it is read or written (default: the git work "
        "tree holding the first PATH, else the current directory)",
    )
    parser.add_argument(
        "--ignore", metavar="PATTERN", action="append", default=[],
        help=".gitignore-style pattern of files to skip, relative to the root (repeatable); "
        ".gitignore and .imagebotignore files are always honoured",
    )
    parser.add_argument(
        "paths", metavar="PATH", type=Path, nargs="*" if optional_paths else "+",
        help="files or directories to update" if not optional_paths else "files or directories "
        "to inspect (default: the current directory)",
    )


def policy_value(text: str) -> tuple[ObjectKey, ImageRef]:
    """Parse ``NS:NAME=IMAGE_REF`` (argparse type)."""
    key_text, sep, ref_text = text.partition("=")
    namespace, colon, name = key_text.partition(":")
    if not sep or not colon or not namespace or not name or ":" in name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NS:NAME=IMAGE_REF")
    try:
        return ObjectKey(namespace, name), parse_ref(ref_text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def parse_ref(text: str) -> ImageRef:
    """``name:tag`` or ``name:tag@digest`` as an ImageRef; ``ValueError`` when not valid."""
    name_tag, at, digest = text.partition("@")
    colon = name_tag.rfind(":")
    if colon <= name_tag.rfind("/") or colon == len(name_tag) - 1:
        raise ValueError(f"image reference {text!r} has no tag (name:tag[@digest])")
    ref = ImageRef(name_tag[:colon], Tag(name_tag[colon + 1 :]), Digest(digest) if at else None)
    setters.check_ref(ref)
    return ref


def resolve_root(root: Path | None, paths: Sequence[Path]) -> Path:
    """``--root``, else the git work tree holding the first path as given (not where a symbolic
    link points), else the current directory."""
    if root is not None:
        if not root.is_dir():
            raise errors.ConfigError(f"--root {root}: not a directory")
        return root.resolve()
    # the path as given, symbolic links not followed: a link into another work tree must not
    # make that tree the root (its files would be written through the link; issue 8)
    first = Path(os.path.abspath(paths[0] if paths else Path()))
    start = first if first.is_dir() and not first.is_symlink() else first.parent
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory.resolve()
    return Path.cwd().resolve()


def run(args: argparse.Namespace) -> int:
    values = dict(args.policy)
    root = resolve_root(args.root, args.paths)
    paths = [path.resolve() for path in args.paths]
    planned = setters.plan(values, root=root, paths=paths, ignore=args.ignore)
    if args.diff and not args.json:
        for edit in planned.edits:
            print_diff(edit.change.path, edit.before, edit.after)
    changes = planned.changeset if args.dry_run else setters.write(planned)
    unmatched = [key for key in values if key not in planned.markers]
    if args.json:
        print(json.dumps(_as_json(changes, unmatched, planned.markers, dry_run=args.dry_run), indent=2))
    elif not args.diff:
        for file in changes.files:
            for change in file.changes:
                print(f"{file.path}:{change.line}: {change.setter}: "
                      f"{change.old_value} -> {change.new_value}")
    fields = sum(len(file.changes) for file in changes.files)
    verb = "would update" if args.dry_run else "updated"
    summary = f"imagebot: {verb} {fields} field(s) in {len(changes.files)} file(s)"
    if changes.errors:
        summary += f"; {len(changes.errors)} file(s) could not be processed"
    print(summary, file=sys.stderr)
    if not args.allow_unmatched:
        for key in unmatched:
            print(f"imagebot: error: --policy {key.namespace}:{key.name} matches no marker under "
                  f"{', '.join(str(p) for p in args.paths)}{_suggestion(key, planned.markers)} "
                  "(--allow-unmatched accepts this)", file=sys.stderr)
    return 1 if changes.errors or (unmatched and not args.allow_unmatched) else 0


def _suggestions(key: ObjectKey, markers: Mapping[ObjectKey, tuple[str, int]]) -> list[ObjectKey]:
    by_name = {f"{k.namespace}:{k.name}": k for k in markers}
    match = names.closest(f"{key.namespace}:{key.name}", by_name)
    return [by_name[match]] if match is not None else []


def _suggestion(key: ObjectKey, markers: Mapping[ObjectKey, tuple[str, int]]) -> str:
    found = _suggestions(key, markers)
    if not found:
        return ""
    path, line = markers[found[0]]
    return f"; did you mean {found[0].namespace}:{found[0].name} ({path}:{line})?"


def _as_json(
    changes: ChangeSet, unmatched: Sequence[ObjectKey], markers: Mapping[ObjectKey, tuple[str, int]],
    *, dry_run: bool,
) -> dict[str, object]:
    return {
        "dry_run": dry_run,
        "files": [{"path": f.path, "changes": [
            {"line": c.line, "marker": c.setter, "old": c.old_value, "new": c.new_value}
            for c in f.changes]} for f in changes.files],
        "unmatched": [
            {"policy": f"{key.namespace}:{key.name}", "suggestions": [
                {"policy": f"{s.namespace}:{s.name}", "path": markers[s][0], "line": markers[s][1]}
                for s in _suggestions(key, markers)]}
            for key in unmatched
        ],
        "errors": [problem_json(p) for p in changes.errors],
        "warnings": [problem_json(p) for p in changes.warnings],
    }


def problem_json(problem: FileProblem) -> dict[str, object]:
    return {"path": problem.path, "line": problem.line, "message": problem.message}


def print_diff(path: str, before: bytes, after: bytes) -> None:
    old = _LINES.findall(before.decode("utf-8"))
    new = _LINES.findall(after.decode("utf-8"))
    for line in difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"):
        sys.stdout.write(line)
        if not line.endswith("\n"):
            sys.stdout.write("\n\\ No newline at end of file\n")
