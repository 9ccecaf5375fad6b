"""Which Kubernetes object a located scalar sits in (Flux's object identifier in change reports).

The object is the document's root mapping, or the ``items[i]`` element of a ``*List`` document;
documents without both ``apiVersion`` and ``kind`` (compose files, Helm values) give an empty
:class:`~imagebot.model.changes.ObjectId`. Called by :mod:`imagebot.setters._edit` and ``_discover``.
"""

from __future__ import annotations

from collections.abc import Sequence

from imagebot.model.changes import ObjectId
from imagebot.yamldoc import PathKey, Scalar

__all__ = ["ObjectIndex"]

_Where = tuple[int, tuple[PathKey, ...]]
_IDENTITY = frozenset({"apiVersion", "kind"})
_METADATA = frozenset({"name", "namespace"})


class ObjectIndex:
    """Object identity fields of every document, read once from its scalars."""

    def __init__(self, scalars: Sequence[Scalar]) -> None:
        self._fields: dict[_Where, dict[str, str]] = {}
        for scalar in scalars:
            path = scalar.path
            if path and path[-1] in _IDENTITY:
                self._field(scalar, path[:-1], str(path[-1]))
            elif len(path) >= 2 and path[-2] == "metadata" and path[-1] in _METADATA:
                self._field(scalar, path[:-2], str(path[-1]))

    def _field(self, scalar: Scalar, owner: tuple[PathKey, ...], key: str) -> None:
        if len(owner) <= 2:
            self._fields.setdefault((scalar.document, owner), {})[key] = scalar.value

    def object_of(self, scalar: Scalar) -> ObjectId:
        path = scalar.path
        root = self._fields.get((scalar.document, ()), {})
        owner = root
        if len(path) >= 2 and path[0] == "items" and root.get("kind", "").endswith("List"):
            owner = self._fields.get((scalar.document, path[:2]), {})
        if not owner.get("apiVersion") or not owner.get("kind"):
            return ObjectId()
        return ObjectId(
            api_version=owner["apiVersion"], kind=owner["kind"],
            namespace=owner.get("namespace", ""), name=owner.get("name", ""),
        )
