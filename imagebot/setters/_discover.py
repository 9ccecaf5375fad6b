"""Discovery for ``imagebot markers``: every marker in a tree, and image references without one.

Unlike ``apply`` this parses every YAML file (there is no prefilter: unmarked references are what
it looks for), unless asked for markers only. An image reference is an ``image:`` value that
reads as ``name[:tag][@digest]``, a Helm-style ``repository`` + ``tag`` pair, or a kustomize
``images:`` entry; for each, the marker line a user could add is suggested. Called by
:mod:`imagebot.commands.markers`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from imagebot import yamldoc
from imagebot.model.changes import FileProblem, ObjectId
from imagebot.model.ids import ObjectKey
from imagebot.setters import _edit, _files
from imagebot.setters._markers import Field
from imagebot.setters._objects import ObjectIndex
from imagebot.setters._scan import scan
from imagebot.yamldoc import PathKey, Scalar

__all__ = ["FoundMarker", "MarkerReport", "Unmarked", "find_markers"]

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[a-z0-9]+:[0-9a-fA-F]{32,})?"
)
_KUSTOMIZE = {"newName": "name", "newTag": "tag", "digest": "digest"}


@dataclasses.dataclass(frozen=True, slots=True)
class FoundMarker:
    """A marker attached to a scalar value, with the value it currently holds."""

    path: str
    line: int
    setter: str
    policy: ObjectKey
    field: Field
    value: str
    object: ObjectId


@dataclasses.dataclass(frozen=True, slots=True)
class Unmarked:
    """An image reference no marker points at, and the line that would mark it."""

    path: str
    line: int
    key: str
    """The key holding the value (``image``, ``tag``, ``newName``...)."""
    value: str
    image: str
    """The image name the reference is about (used to guess the policy)."""
    setter: str
    """The suggested marker value, ``<namespace>:<policy>[:suffix]``."""
    suggestion: str
    """The whole line with the marker comment added (any other comment replaced)."""


@dataclasses.dataclass(frozen=True, slots=True)
class MarkerReport:
    markers: tuple[FoundMarker, ...] = ()
    unmarked: tuple[Unmarked, ...] = ()
    errors: tuple[FileProblem, ...] = ()
    warnings: tuple[FileProblem, ...] = ()


def find_markers(
    *, root: Path, paths: Sequence[Path] = (), ignore: Sequence[str] = (),
    policies: Mapping[ObjectKey, str] | None = None, namespace: str = "flux-system",
) -> MarkerReport:
    """Every marker and every unmarked image reference under ``paths`` (see :func:`plan`).

    ``policies`` maps known policies to their image names: an unmarked reference to one of those
    images is suggested that policy; otherwise ``<namespace>:<last path component>``.
    """
    root = root.resolve(strict=True)
    found, problems = _files.collect(root, paths, ignore=ignore)
    by_image = {image: key for key, image in sorted((policies or {}).items(), reverse=True)}
    markers: list[FoundMarker] = []
    unmarked: list[Unmarked] = []
    errors = list(problems)
    warnings: list[FileProblem] = []
    for item in found:
        try:
            data = _files.read_file(item.path)
            text = _edit.decode(data, item.rel)
            result = scan(text)
        except OSError as exc:
            errors.append(FileProblem(item.rel, 0, f"cannot read: {exc.strerror or exc}"))
            continue
        except _edit.Unprocessable as exc:
            errors.append(exc.problem)
            continue
        except yamldoc.YAMLSyntaxError as exc:
            errors.append(FileProblem(item.rel, exc.line, f"not valid YAML ({exc.problem})"))
            continue
        objects = ObjectIndex(result.scalars)
        marked = {id(attached.scalar) for attached in result.markers}
        markers.extend(
            FoundMarker(
                path=item.rel, line=a.line, setter=a.marker.setter, policy=a.marker.policy,
                field=a.marker.field, value=a.scalar.value, object=objects.object_of(a.scalar),
            )
            for a in result.markers
        )
        warnings.extend(FileProblem(item.rel, line, message) for line, message in result.problems)
        for scalar, suffix, image in _references(result.scalars):
            if id(scalar) in marked or not _single_line(text, scalar):
                continue
            policy = by_image.get(image) or ObjectKey(namespace, _policy_name(image))
            setter = f"{policy.namespace}:{policy.name}{suffix}"
            unmarked.append(Unmarked(
                path=item.rel, line=scalar.line, key=str(scalar.path[-1]), value=scalar.value,
                image=image, setter=setter, suggestion=_suggest(text, scalar, setter),
            ))
    return MarkerReport(tuple(markers), tuple(unmarked), tuple(errors), tuple(warnings))


def _references(scalars: list[Scalar]) -> list[tuple[Scalar, str, str]]:
    """``(scalar, marker suffix, image name)`` for every value that looks like an image field."""
    siblings: dict[tuple[int, tuple[PathKey, ...]], dict[str, Scalar]] = {}
    for scalar in scalars:
        if scalar.path and isinstance(scalar.path[-1], str):
            siblings.setdefault((scalar.document, scalar.path[:-1]), {})[scalar.path[-1]] = scalar
    found: list[tuple[Scalar, str, str]] = []
    for (_, parent), fields in siblings.items():
        image = fields.get("image")
        if image is not None and "$" not in image.value and _IMAGE.fullmatch(image.value):
            found.append((image, "", _image_name(image.value)))
        repository, tag = fields.get("repository"), fields.get("tag")
        if repository is not None and tag is not None and _IMAGE.fullmatch(repository.value):
            name = _image_name(repository.value)
            if "registry" not in fields:  # :name carries the registry; a split one cannot be set
                found.append((repository, ":name", name))
            found.append((tag, ":tag", name))
            if "digest" in fields:
                found.append((fields["digest"], ":digest", name))
        if len(parent) >= 2 and parent[-2] == "images" and "name" in fields:
            name = fields["newName"].value if "newName" in fields else fields["name"].value
            found.extend(
                (fields[key], f":{suffix}", _image_name(name))
                for key, suffix in _KUSTOMIZE.items() if key in fields
            )
    found.sort(key=lambda entry: entry[0].start)
    return found


def _image_name(reference: str) -> str:
    name = reference.split("@", 1)[0]
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > last_slash else name


def _policy_name(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return re.sub(r"[^a-z0-9-]+", "-", last.lower()).strip("-") or "app"


def _single_line(text: str, scalar: Scalar) -> bool:
    return "\n" not in text[scalar.start : scalar.end] and scalar.style not in ("literal", "folded")


def _suggest(text: str, scalar: Scalar, setter: str) -> str:
    line_start = max(text.rfind("\n", 0, scalar.start), text.rfind("\r", 0, scalar.start)) + 1
    return f'{text[line_start : scalar.end]} # {{"$imagepolicy": "{setter}"}}'.lstrip("\ufeff")
