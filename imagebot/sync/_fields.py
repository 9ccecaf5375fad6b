"""Field access for the health rules: tolerant of partial objects, strict about wrong types.

Used by :mod:`imagebot.sync._health` and :mod:`imagebot.sync._health_kinds`. A missing field
reads as its default; a field of the wrong type raises :class:`Malformed`, which the caller
turns into an Unknown health naming the field.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

__all__ = [
    "KubeObject", "Malformed", "condition", "conditions", "explain", "get", "group", "integer",
    "is_true", "items", "text", "timestamp",
]

KubeObject = Mapping[str, Any]
"""A live object as the API server returns it (``apiVersion``, ``kind``, ``metadata``, ...)."""


class Malformed(ValueError):
    """A field has the wrong type: the object's health is Unknown, with this message."""



def get(obj: object, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def integer(obj: object, *keys: str, default: int = 0) -> int:
    value = get(obj, *keys)
    if value is None:
        return default
    if isinstance(value, str) and value.isdigit():  # Rollouts before v1.0 write strings
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{'.'.join(keys)} is not an integer: {value!r}")
    return value


def text(obj: object, *keys: str) -> str:
    value = get(obj, *keys)
    return value if isinstance(value, str) else ""


def items(obj: object, *keys: str) -> list[Any]:
    value = get(obj, *keys)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{'.'.join(keys)} is not a list")
    return value


def conditions(obj: object, *keys: str) -> list[Mapping[str, Any]]:
    return [c for c in items(obj, *(keys or ("status", "conditions"))) if isinstance(c, Mapping)]


def condition(obj: object, kind: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions(obj) if c.get("type") == kind), None)


def is_true(condition: Mapping[str, Any] | None) -> bool:
    return condition is not None and str(condition.get("status")) == "True"


def explain(condition: Mapping[str, Any]) -> str:
    reason, message = str(condition.get("reason") or ""), str(condition.get("message") or "")
    return f"{reason}: {message}" if reason and message else reason or message


def timestamp(value: str) -> datetime.datetime:
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed(f"not a timestamp: {value!r}") from None


def group(obj: KubeObject) -> str:
    api_version = text(obj, "apiVersion")
    return api_version.rpartition("/")[0] if "/" in api_version else ""
