"""Typed reads of raw YAML objects that name the key path on every error.

Used by the object parsers in this package: ``Fields(raw, where)`` wraps one mapping, and each
accessor either returns a typed value or raises ``ConfigError("<where>: spec.image: ...")``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from imagebot.errors import ConfigError

__all__ = ["Fields", "parse_duration"]

_DURATION_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> datetime.timedelta:
    """Parse a Go duration as Flux accepts it (``1m30s``, ``72h``, ``500ms``)."""
    if not text or _DURATION_RE.sub("", text) != "":
        raise ValueError(f"{text!r} is not a duration (examples: 30s, 5m, 1h30m, 72h)")
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_RE.findall(text))
    return datetime.timedelta(seconds=seconds)


class Fields:
    """One YAML mapping plus where it came from; ``path`` is the key path inside the object."""

    def __init__(self, raw: object, where: str, path: str = "") -> None:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: {path or 'document'}: expected a mapping, got {_kind(raw)}")
        self._raw: Mapping[str, Any] = raw
        self.where = where
        self.path = path

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where}: {self._key(key)}: {message}", key_path=self._key(key))

    def has(self, key: str) -> bool:
        return self._raw.get(key) is not None

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def keys(self) -> list[str]:
        return [str(k) for k in self._raw]

    def mapping(self) -> Mapping[str, Any]:
        """The mapping itself, unchecked (for key-level checks such as near-miss detection)."""
        return self._raw

    def raw(self, key: str) -> object:
        return self._raw.get(key)

    def sub(self, key: str, *, required: bool = False) -> Fields | None:
        value = self._raw.get(key)
        if value is None:
            if required:
                raise self.error(key, "is required")
            return None
        return Fields(value, self.where, self._key(key))

    def sub_or_empty(self, key: str) -> Fields:
        return self.sub(key) or Fields({}, self.where, self._key(key))

    def string(self, key: str, default: str | None = None) -> str:
        value = self.opt_string(key)
        if value is None:
            if default is None:
                raise self.error(key, "is required")
            return default
        return value

    def opt_string(self, key: str) -> str | None:
        value = self._raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(key, f"expected a string, got {_kind(value)}")
        return str(value)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._raw.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def str_list(self, key: str) -> tuple[str, ...] | None:
        value = self._raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "expected a list of strings")
        return tuple(value)

    def str_map(self, key: str) -> dict[str, str]:
        sub = self.sub(key)
        return sub.as_str_map() if sub is not None else {}

    def as_str_map(self) -> dict[str, str]:
        return {key: self.string(key) for key in self.keys() if self._raw.get(key) is not None}

    def duration(self, key: str) -> datetime.timedelta | None:
        value = self.opt_string(key)
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.string(key, default)
        if value not in allowed:
            raise self.error(key, f"must be one of {', '.join(allowed)}, got {value!r}")
        return value


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
