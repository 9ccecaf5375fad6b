"""Identifiers shared by every stage: tags, digests and namespaced object keys.

Produced by config (object keys) and scan (tags, digests); consumed everywhere.
"""

from __future__ import annotations

import dataclasses
from typing import NewType

__all__ = ["Digest", "ObjectKey", "Tag"]

Tag = NewType("Tag", str)
"""A tag exactly as the registry lists it (``v1.2.3``, ``latest``)."""

Digest = NewType("Digest", str)
"""A content digest, ``sha256:<64 hex>`` (or ``sha512:<128 hex>``)."""


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    """A namespaced object name, as Flux markers (``ns:name``) and references use it."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"
