"""Flux notification objects imagebot reads from ``policies/`` as they are.

``Receiver`` (webhooks in: which ImageRepositories a registry's hook rescans), ``Provider`` and
``Alert`` (events out: where commits, pull requests, failures and re-pushed tags are posted).
Produced by :mod:`imagebot.config`; consumed by :mod:`imagebot.schedule`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

from imagebot.model.ids import ObjectKey

__all__ = ["Alert", "EventSource", "Provider", "Receiver", "ReceiverType"]

ReceiverType = Literal["generic", "generic-hmac", "github", "dockerhub", "harbor", "quay"]


@dataclasses.dataclass(frozen=True, slots=True)
class EventSource:
    """A cross-object reference: ``kind`` plus a name (``*`` for all) and optional labels."""

    kind: str
    name: str
    namespace: str
    match_labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def matches(self, kind: str, key: ObjectKey) -> bool:
        return (self.kind == kind and self.namespace == key.namespace
                and self.name in ("*", key.name))


@dataclasses.dataclass(frozen=True, slots=True)
class Receiver:
    key: ObjectKey
    type: ReceiverType
    secret_ref: str
    """A secret whose ``token`` key is the shared secret (URL path digest, HMAC key, header value)."""
    resources: tuple[EventSource, ...]
    events: tuple[str, ...] = ()
    """For ``github``: the event types accepted (empty: ``package`` and ``registry_package``)."""
    suspend: bool = False
    source: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Provider:
    key: ObjectKey
    type: Literal["generic", "generic-hmac", "slack"]
    address: str | None = None
    secret_ref: str | None = None
    """A secret with ``address`` (overrides ``spec.address``) and, for ``generic-hmac``, ``token``."""
    channel: str | None = None
    username: str | None = None
    suspend: bool = False
    source: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Alert:
    key: ObjectKey
    provider: ObjectKey
    event_sources: tuple[EventSource, ...]
    severity: Literal["info", "error"] = "info"
    """``info``: every event; ``error``: failures only."""
    exclusion_list: tuple[str, ...] = ()
    """Regular expressions; an event whose message matches one is not sent."""
    summary: str = ""
    suspend: bool = False
    source: str = ""
