"""Write image references into the marked fields of YAML files, without asking any registry.

Every field marked with # {"$imagepolicy": "NS:NAME[:tag|:name|:digest]"} whose policy is given
with --policy gets that policy's reference (or the tag, name or digest part of it); everything
else in the files stays byte for byte. This is the step a CI pipeline runs after pushing an image:

  imagebot set --policy flux-system:app=ghcr.io/org/app:1.2.4 clusters/prod
  imagebot set --policy flux-system:app=ghcr.io/org/app:1.2.4@sha256:... --diff --dry-run .

Exit status: 0 when files were updated or nothing needed to change, 1 when a file could not be
processed (it is left untouched and reported with its line), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from imagebot import errors, setters
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
    """``--root``, else the git work tree holding the first path, else the current directory."""
    if root is not None:
        if not root.is_dir():
            raise errors.ConfigError(f"--root {root}: not a directory")
        return root.resolve()
    first = (paths[0] if paths else Path()).resolve()
    start = first if first.is_dir() else first.parent
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return Path.cwd().resolve()


def run(args: argparse.Namespace) -> int:
    values = dict(args.policy)
    root = resolve_root(args.root, args.paths)
    paths = [path.resolve() for path in args.paths]
    planned = setters.plan(values, root=root, paths=paths, ignore=args.ignore)
    if args.diff:
        for edit in planned.edits:
            print_diff(edit.change.path, edit.before, edit.after)
    changes = planned.changeset if args.dry_run else setters.write(planned)
    if not args.diff:
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
    return 1 if changes.errors else 0


def print_diff(path: str, before: bytes, after: bytes) -> None:
    old = _LINES.findall(before.decode("utf-8"))
    new = _LINES.findall(after.decode("utf-8"))
    for line in difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"):
        sys.stdout.write(line)
        if not line.endswith("\n"):
            sys.stdout.write("\n\\ No newline at end of file\n")
