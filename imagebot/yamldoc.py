"""The only home of ruamel.yaml: loading YAML documents for config and locating scalars for setters.

Callers get plain Python data (config) or positioned nodes (setters); ruamel's exceptions are
translated here into ``ValueError`` subclasses carrying the line, so no ruamel type escapes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

__all__ = ["YAMLSyntaxError", "load_all_plain"]


@dataclasses.dataclass(frozen=True, slots=True)
class YAMLSyntaxError(ValueError):
    """A document that does not parse; ``line`` is 1-based (0 when unknown)."""

    line: int
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}" if self.line else self.problem


def load_all_plain(text: str) -> list[Any]:
    """Every document of ``text`` as plain dicts/lists/scalars (empty documents dropped)."""
    yaml = YAML(typ="safe", pure=True)
    try:
        return [doc for doc in yaml.load_all(text) if doc is not None]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YAMLSyntaxError(line, exc.problem or exc.context or "invalid YAML") from exc
    except YAMLError as exc:
        raise YAMLSyntaxError(0, str(exc).splitlines()[0]) from exc
