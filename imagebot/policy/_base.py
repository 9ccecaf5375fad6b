"""The ``Policy`` protocol the three Flux rules implement, and the ``Ranking`` they return.

Like flux's ``Policer`` (``Latest([]string)``), split in two so the caller can explain itself:
``rank`` sorts candidate values into "ranked" and "rejected by rule", ``best`` applies Flux's
choice among the ranked ones. Implemented in :mod:`imagebot.policy._ordering`; driven by
:mod:`imagebot.policy._evaluate`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

from imagebot.model.selections import Rule

__all__ = ["Order", "Policy", "Ranked", "Ranking", "outranks"]

Order = tuple[object, ...]
"""Compares like the policy ranks: greater is better; ``order[0]`` is the rule's own value
(precedence, text or number) and later items only break ties deterministically."""

Ranked = tuple[Order, str]
"""``(order, value)`` for one candidate value that satisfied the rule."""


@dataclasses.dataclass(frozen=True, slots=True)
class Ranking:
    ranked: list[Ranked]
    rejected: dict[Rule, list[str]]
    """Rejected values by rule, in the order they were given."""


class Policy(Protocol):
    @property
    def fatal(self) -> frozenset[Rule]:
        """Rules whose rejection fails the whole policy (numerical: one non-number)."""
        ...

    def describe(self) -> str: ...

    def rank(self, values: Sequence[str]) -> Ranking: ...

    def order(self, value: str) -> Order | None:
        """Where ``value`` sits in the rule's order, range or not (``None``: not orderable)."""
        ...

    def best(self, ranked: Sequence[Ranked]) -> Ranked:
        """Flux's pick among ``ranked`` (never empty)."""
        ...

    def version(self, value: str) -> str | None:
        """How the rule reads ``value`` when that differs from the text (semver normalises)."""
        ...


def outranks(a: Order, b: Order) -> bool:
    """``a`` is strictly better than ``b`` by the rule itself, ignoring tie-breakers."""
    return bool(a[0] > b[0])  # type: ignore[operator]
