"""The ``Policy`` protocol the three Flux rules implement, and the ``Ranking`` they return.

Like flux's ``Policer`` (``Latest([]string)``), split in two so the caller can explain itself:
``rank`` sorts candidate values into "ranked" and "rejected by rule", ``best`` applies Flux's
choice among the ranked ones. Implemented in :mod:`imagebot.policy._ordering`; driven by
:mod:`imagebot.policy._evaluate`.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, overload

from imagebot.model.selections import Rule

__all__ = ["TOP", "Columns", "Order", "Policy", "Ranked", "Ranking", "outranks"]

Order = tuple[object, ...]
"""Compares like the policy ranks: greater is better; ``order[0]`` is the rule's own value
(precedence, text or number) and later items only break ties deterministically."""

Ranked = tuple[Order, str]
"""``(order, value)`` for one candidate value that satisfied the rule."""


class Columns(Sequence[Ranked]):
    """Ranked values kept as two columns — each value's rule key (``order[0]``) and its text —
    instead of one ``((key,), value)`` tuple per value, which for 100,000 tags costs more than the
    ranking itself (and wakes the garbage collector). Items are made only when asked for.

    ``flip`` (alphabetical ``desc``): the smaller key ranks higher, and ``order[0]`` is
    ``flip(key)``, a text that sorts in reverse.
    """

    __slots__ = ("_flip", "_near", "keys", "values")

    def __init__(self, keys: Sequence[Any], values: Sequence[str], *,
                 flip: Callable[[Any], object] | None = None) -> None:
        self.keys = keys
        self.values = values
        self._flip = flip
        self._near: tuple[int, list[tuple[Any, str]]] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def _item(self, key: Any, value: str) -> Ranked:
        return ((key if self._flip is None else self._flip(key),), value)

    @overload
    def __getitem__(self, index: int) -> Ranked: ...
    @overload
    def __getitem__(self, index: slice) -> Columns: ...
    def __getitem__(self, index: int | slice) -> Ranked | Columns:
        if isinstance(index, slice):
            return Columns(self.keys[index], self.values[index], flip=self._flip)
        return self._item(self.keys[index], self.values[index])

    def __iter__(self) -> Iterator[Ranked]:
        if self._flip is None:
            return zip(zip(self.keys), self.values, strict=True)
        return (self._item(k, v) for k, v in zip(self.keys, self.values, strict=True))

    def near(self, k: int) -> list[tuple[Any, str]]:
        """``(key, value)`` of every value whose key ranks among the ``k`` best keys (all ties
        included; maybe a few more), in input order: what the choice and the trace's top
        candidates look at, found in one pass and kept for the next caller. Empty when a
        NaN key is among them (NaN compares false with everything)."""
        if self._near is not None and self._near[0] >= k:
            return self._near[1]
        keys, values = self.keys, self.values
        if self._flip is None:
            threshold = heapq.nlargest(k, keys)[-1]
            picked = [i for i, key in enumerate(keys) if key >= threshold]
        else:
            threshold = heapq.nsmallest(k, keys)[-1]
            picked = [i for i, key in enumerate(keys) if key <= threshold]
        near = [(keys[i], values[i]) for i in picked]
        self._near = (k, near)
        return near

    def largest(self, k: int) -> list[Ranked]:
        """``heapq.nlargest(k, self)`` without making an item of every value."""
        if k <= 0:
            return []
        if len(self) <= k:
            return sorted(self, reverse=True)
        picked = [self._item(key, value) for key, value in self.near(k)]
        if not picked:  # NaN keys compare false with everything
            return heapq.nlargest(k, self)
        return sorted(picked, reverse=True)[:k]


TOP = 5
"""How many top candidates a trace lists."""


@dataclasses.dataclass(frozen=True, slots=True)
class Ranking:
    ranked: Sequence[Ranked]
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
