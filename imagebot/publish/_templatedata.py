"""The data a commit-message template sees: Flux's model, built from a ``ChangeSet``.

Names and shapes follow image-automation-controller's ``TemplateData`` (flux-semantics §6.4) so a
converted Flux template reads and prints the same: ``.AutomationObject`` prints ``namespace/name``,
maps iterate in Go's sorted key order, and every value prints the way Go's ``fmt`` would. imagebot
adds ``images`` (one entry per updated image) for native Jinja2 templates. Built by
:func:`template_data`; rendered by :mod:`imagebot.publish._message`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

from imagebot.gotemplate import go_str
from imagebot.model.changes import ChangeSet, FieldChange, ObjectId
from imagebot.model.ids import ObjectKey
from imagebot.model.images import parse_image_repo
from imagebot.model.selections import Selection
from imagebot.publish import _summary

__all__ = [
    "Change",
    "Changed",
    "GoList",
    "GoMap",
    "NamespacedName",
    "ObjectIdentifier",
    "TemplateData",
    "Updated",
    "UpdatedImage",
    "template_data",
]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class GoMap(Mapping[K, V]):
    """A read-only map that iterates in the order it was built (Go's sorted order) and prints as
    ``map[k:v ...]``."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[K, V]] = ()) -> None:
        self._items = dict(items)

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __str__(self) -> str:
        return go_str(self)

    def __repr__(self) -> str:
        return f"GoMap({self._items!r})"


class GoList(tuple[T, ...]):
    """A tuple that prints as Go prints a slice: ``[a b c]``."""

    __slots__ = ()

    def __str__(self) -> str:
        return go_str(self)


@dataclasses.dataclass(frozen=True, slots=True)
class NamespacedName:
    """``.AutomationObject``: prints ``namespace/name`` (Go's ``types.NamespacedName``)."""

    Namespace: str
    Name: str

    def __str__(self) -> str:
        return f"{self.Namespace}/{self.Name}"


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class ObjectIdentifier:
    """Flux's object key; field order is Go's sort order (``APIVersion, Kind, Name, Namespace``)."""

    APIVersion: str = ""
    Kind: str = ""
    Name: str = ""
    Namespace: str = ""

    def __str__(self) -> str:
        # Go prints ObjectIdentifier{ResourceIdentifier{TypeMeta{..}, NameMeta{..}}} with %v
        return f"{{{{{{{self.APIVersion} {self.Kind}}} {{{self.Name} {self.Namespace}}}}}}}"


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One changed field: ``.OldValue``, ``.NewValue``, ``.Setter`` (marker value, suffix included)."""

    OldValue: str
    NewValue: str
    Setter: str

    def __str__(self) -> str:
        return f"{{{self.OldValue} {self.NewValue} {self.Setter}}}"


ObjectChanges = GoMap[ObjectIdentifier, GoList[Change]]


@dataclasses.dataclass(frozen=True, slots=True)
class Changed:
    """``.Changed``: ``FileChanges`` (file → object → changes) and Flux's two projections.

    ``Objects`` merges an object's changes over files and ``Changes`` lists each distinct
    (old, new, setter) once, first seen first — both deterministic, where Flux's follow Go's random
    map order.
    """

    FileChanges: GoMap[str, ObjectChanges]
    Objects: ObjectChanges
    Changes: GoList[Change]

    def __str__(self) -> str:
        return f"{{{self.FileChanges}}}"


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class UpdatedImage:
    """Flux v1beta1's ``ImageRef``: prints as the reference written (``ghcr.io/org/app:1.2.3``)."""

    ref: str
    Identifier: str
    """The tag, or the digest when the reference has one."""
    Repository: str
    """``org/app``; ``library/nginx`` on Docker Hub."""
    Registry: str
    """``ghcr.io``; ``index.docker.io`` for Docker Hub, as go-containerregistry says."""
    Name: str
    """Fully qualified: ``index.docker.io/library/nginx:1.27.1``."""
    Policy: NamespacedName

    def __str__(self) -> str:
        return self.ref


ObjectImages = GoMap[ObjectIdentifier, GoList[UpdatedImage]]


@dataclasses.dataclass(frozen=True, slots=True)
class FileResult:
    """``.Updated.Files[path]``: the images updated in each object of one file."""

    Objects: ObjectImages

    def __str__(self) -> str:
        return f"{{{self.Objects}}}"


@dataclasses.dataclass(frozen=True, slots=True)
class Updated:
    """``.Updated``: Flux v1beta1's data model (``update.Result``), kept for v1beta1 automations.

    ``Images`` lists each image once (files in path order, objects in order, where Flux follows
    Go's random map order); ``Objects`` merges an object's images over files.
    """

    Files: GoMap[str, FileResult]
    Objects: ObjectImages
    Images: GoList[UpdatedImage]

    def __str__(self) -> str:
        return f"{{{self.Files}}}"


@dataclasses.dataclass(frozen=True, slots=True)
class TemplateData:
    """The root of a commit-message template (and the input of the default message)."""

    AutomationObject: NamespacedName
    Changed: Changed
    Values: GoMap[str, str]
    images: tuple[_summary.ImageUpdate, ...]
    """imagebot's summary: one entry per updated image (``image``, ``old``, ``new``, ``files``)."""
    lines: tuple[_summary.ImageLine, ...]
    """imagebot's summary: one entry per image per file (``file``, ``image``, ``old``, ``new``)."""
    Updated: Updated | None = None
    """Flux v1beta1's ``.Updated``, only for ``image.toolkit.fluxcd.io/v1beta1`` automations."""

    @property
    def automation(self) -> ObjectKey:
        return ObjectKey(self.AutomationObject.Namespace, self.AutomationObject.Name)

    def __str__(self) -> str:
        return f"{{{self.AutomationObject} {self.Changed} {self.Values}}}"


def template_data(
        automation: ObjectKey,
        changes: ChangeSet,
        *,
        values: Mapping[str, str] | None = None,
        selections: Iterable[Selection] = (),
        sources: Mapping[str, str] | None = None,
        v1beta1: bool = False,
) -> TemplateData:
    """Build the template root for one automation's changes.

    ``values`` is Flux's ``messageTemplateValues``; ``selections`` (the policies' choices) name the
    images of ``:tag``/``:digest`` fields; ``sources`` maps an image name to its source repository
    URL (the OCI ``org.opencontainers.image.source`` label). ``v1beta1`` adds Flux v1beta1's
    ``.Updated`` (for automations of that apiVersion).
    """
    by_policy = {selection.policy: selection for selection in selections}
    file_changes = GoMap(
        (file.path, _object_changes((c.object, c) for c in file.changes))
        for file in sorted(changes.files, key=lambda f: f.path)
    )
    objects = _object_changes((c.object, c) for file in changes.files for c in file.changes)
    lines = _summary.image_lines(changes, by_policy)
    return TemplateData(
        AutomationObject=NamespacedName(automation.namespace, automation.name),
        Changed=Changed(
            FileChanges=file_changes,
            Objects=objects,
            Changes=GoList(_distinct(changes)),
        ),
        Values=GoMap(sorted((values or {}).items())),
        images=_summary.image_updates(lines, by_policy, sources or {}),
        lines=lines,
        Updated=_updated(changes, by_policy) if v1beta1 else None,
    )


def _updated(changes: ChangeSet, selections: Mapping[ObjectKey, Selection]) -> Updated:
    def images(pairs: Iterable[tuple[ObjectId, FieldChange]]) -> ObjectImages:
        grouped: dict[ObjectIdentifier, list[UpdatedImage]] = {}
        for obj, change in pairs:
            found = grouped.setdefault(_identifier(obj), [])
            image = _image_ref(change, selections.get(change.policy))
            if image not in found:  # one entry per image, however many of its fields changed
                found.append(image)
        return GoMap((key, GoList(grouped[key])) for key in sorted(grouped))

    files = GoMap(
        (file.path, FileResult(images((c.object, c) for c in file.changes)))
        for file in sorted(changes.files, key=lambda f: f.path)
    )
    every = [image for result in files.values() for refs in result.Objects.values() for image in refs]
    return Updated(
        Files=files,
        Objects=images((c.object, c) for file in changes.files for c in file.changes),
        Images=GoList(dict.fromkeys(every)),
    )


def _image_ref(change: FieldChange, selection: Selection | None) -> UpdatedImage:
    if selection is not None:
        ref = f"{selection.repo.name}:{selection.tag}" + (f"@{selection.digest}" if selection.digest else "")
    else:  # no selection known (imagebot set): the reference is what a whole-ref field holds
        ref = change.new_value
    name, rest = _summary.split_ref(ref)
    tag, _, digest = rest.partition("@")
    try:
        repo = parse_image_repo(name)
        registry, path = ("index.docker.io" if repo.registry == "docker.io" else repo.registry), repo.path
    except ValueError:
        registry, path = "", name
    identifier = digest or tag
    separator = "@" if digest else ":"
    return UpdatedImage(
        ref=ref, Identifier=identifier, Repository=path, Registry=registry,
        Name=f"{registry}/{path}{separator}{identifier}" if registry else ref,
        Policy=NamespacedName(change.policy.namespace, change.policy.name),
    )


def _identifier(obj: ObjectId) -> ObjectIdentifier:
    return ObjectIdentifier(APIVersion=obj.api_version, Kind=obj.kind, Name=obj.name, Namespace=obj.namespace)


def _change(change: FieldChange) -> Change:
    return Change(OldValue=change.old_value, NewValue=change.new_value, Setter=change.setter)


def _object_changes(pairs: Iterable[tuple[ObjectId, FieldChange]]) -> ObjectChanges:
    grouped: dict[ObjectIdentifier, list[Change]] = {}
    for obj, change in pairs:
        grouped.setdefault(_identifier(obj), []).append(_change(change))
    return GoMap((key, GoList(grouped[key])) for key in sorted(grouped))


def _distinct(changes: ChangeSet) -> Iterator[Change]:
    """Every change once per (old value, new value, setter), first seen first (Flux's ``.Changes``)."""
    seen: set[Change] = set()
    for file in changes.files:
        for field in file.changes:
            change = _change(field)
            if change not in seen:
                seen.add(change)
                yield change
