"""The three Flux rules — semver, alphabetical, numerical — and the registry that picks one.

Called by :mod:`imagebot.policy._evaluate` through :func:`policy_for`. Each rule ranks candidate
values and picks Flux's latest: semver keeps the greatest precedence inside the range (ties go
to the byte-greatest text), alphabetical compares raw code points (``asc`` picks the greatest),
numerical parses Go floats and fails as a whole when one value is not a number.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import operator
from collections.abc import Callable, Sequence
from typing import cast

from imagebot.model import flux
from imagebot.model.selections import Rule
from imagebot.policy import _constraints, _semver
from imagebot.policy._base import Columns, Order, Policy, Ranked, Ranking
from imagebot.policy._gofloat import parse_float, parse_floats, plain_decimals

_first = operator.itemgetter(0)
_second = operator.itemgetter(1)

__all__ = ["POLICIES", "AlphabeticalPolicy", "NumericalPolicy", "SemverPolicy", "policy_for"]


@dataclasses.dataclass(frozen=True, slots=True)
class SemverPolicy:
    range: str
    constraints: _constraints.Constraints
    fatal: frozenset[Rule] = frozenset()

    @classmethod
    def from_choice(cls, choice: flux.SemverChoice) -> SemverPolicy:
        """Raises :class:`~imagebot.policy._constraints.InvalidConstraint`."""
        return cls(choice.range, _constraints.parse(choice.range))

    def describe(self) -> str:
        return f"semver range {self.range!r}"

    def rank(self, values: Sequence[str]) -> Ranking:
        ranked: list[Ranked] = []
        not_version: list[str] = []
        prerelease: list[str] = []
        out_of_range: list[str] = []
        check = self.constraints.check
        admits_prereleases = self.constraints.admits_prereleases
        texts, versions = _semver.parse_tags(values)
        for value, version in zip(texts, versions, strict=True):
            if version is None:
                not_version.append(value)
            elif check(version):
                ranked.append(((version, value), value))
            elif version[3] == 0 and not admits_prereleases:
                prerelease.append(value)
            else:
                out_of_range.append(value)
        rejected: dict[Rule, list[str]] = {
            "not-a-version": not_version, "prerelease": prerelease, "out-of-range": out_of_range,
        }
        return Ranking(ranked, rejected)

    def order(self, value: str) -> Order | None:
        version = _semver.parse_tag(value)
        return None if version is None else (version, value)

    def best(self, ranked: Sequence[Ranked]) -> Ranked:
        return max(ranked)

    def version(self, value: str) -> str | None:
        version = _semver.parse_tag(value)
        if version is None:
            return None
        text = _semver.normalise(version)
        return None if text == value else text


class _Mirror(dict[int, str]):
    """Maps each code point c to 0x10FFFE - c, so mirrored text sorts in reverse (str.translate)."""

    def __missing__(self, key: int) -> str:
        self[key] = mirrored = chr(0x10FFFE - key)
        return mirrored


_MIRROR = _Mirror({c: chr(0x10FFFE - c) for c in range(128)})
_END = "\U0010ffff"  # above every mirrored code point, so "a" sorts above "ab"


def _reversed_text(value: str) -> str:
    return value.translate(_MIRROR) + _END


@dataclasses.dataclass(frozen=True, slots=True)
class AlphabeticalPolicy:
    direction: str = "asc"
    fatal: frozenset[Rule] = frozenset()

    @classmethod
    def from_choice(cls, choice: flux.AlphabeticalChoice) -> AlphabeticalPolicy:
        return cls(choice.order)

    def describe(self) -> str:
        return f"alphabetical order {self.direction}"

    def rank(self, values: Sequence[str]) -> Ranking:
        flip = None if self.direction == "asc" else _reversed_text
        return Ranking(Columns(values, values, flip=flip), {})

    def order(self, value: str) -> Order | None:
        return (value,) if self.direction == "asc" else (_reversed_text(value),)

    def best(self, ranked: Sequence[Ranked]) -> Ranked:
        if isinstance(ranked, Columns):  # the key is the text: the greatest (asc) or smallest (desc)
            values = ranked.values
            return ranked[values.index(max(values) if self.direction == "asc" else min(values))]
        return max(ranked)

    def version(self, value: str) -> str | None:
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class NumericalPolicy:
    direction: str = "asc"
    fatal: frozenset[Rule] = frozenset({"not-a-number"})

    @classmethod
    def from_choice(cls, choice: flux.NumericalChoice) -> NumericalPolicy:
        return cls(choice.order)

    def describe(self) -> str:
        return f"numerical order {self.direction}"

    def rank(self, values: Sequence[str]) -> Ranking:
        plain = plain_decimals(values)  # the usual case, built in C
        if plain is not None:
            signed = plain if self.direction == "asc" else list(map(operator.neg, plain))
            return Ranking(Columns(signed, values), {"not-a-number": []})
        numbers = parse_floats(values)
        if None not in numbers:
            found = cast(list[float], numbers)
            signed = found if self.direction == "asc" else list(map(operator.neg, found))
            return Ranking(Columns(signed, values), {"not-a-number": []})
        sign = 1.0 if self.direction == "asc" else -1.0
        ranked: list[Ranked] = []
        failed: list[str] = []
        for value, number in zip(values, numbers, strict=True):
            if number is None:
                failed.append(value)
            else:
                ranked.append(((sign * number,), value))
        return Ranking(ranked, {"not-a-number": failed})

    def order(self, value: str) -> Order | None:
        number = parse_float(value)
        if number is None:
            return None
        return (number,) if self.direction == "asc" else (-number,)

    def best(self, ranked: Sequence[Ranked]) -> Ranked:
        # Flux's loop over the stored (descending byte) order: a value replaces the latest unless
        # it is strictly worse, so among equal numbers (1, 1.0, 01) the byte-smallest text wins,
        # and NaN behaves as Go's comparisons make it behave. Without NaN that is the maximum
        # number and, among its equals, the smallest text: found in C without sorting.
        if isinstance(ranked, Columns):
            keys = ranked.keys
            if not math.isnan(sum(keys)):  # (a sum is NaN if a key is; inf - inf too)
                first = heapq.nlargest(2, keys)
                if len(first) == 1 or first[1] < first[0]:  # one greatest number: no tie to break
                    return ((first[0],), ranked.values[keys.index(first[0])])
                near = ranked.near(1)  # every value of the greatest number
                return ((first[0],), min(value for key, value in near if key == first[0]))
            numbers: Sequence[float] = ranked.keys
        else:
            numbers = list(map(_first, map(_first, ranked)))
        if not any(map(math.isnan, numbers)):
            top = max(numbers)
            ties = itertools.compress(range(len(numbers)), map(top.__eq__, numbers))
            return ranked[min(ties, key=lambda i: ranked[i][1])]
        items = sorted(ranked, key=_second, reverse=True)
        latest = items[0]
        for item in items[1:]:
            if not item[0][0] < latest[0][0]:  # type: ignore[operator]
                latest = item
        return latest

    def version(self, value: str) -> str | None:
        return None


POLICIES: dict[type[flux.PolicyChoice], Callable[..., Policy]] = {
    flux.SemverChoice: SemverPolicy.from_choice,
    flux.AlphabeticalChoice: AlphabeticalPolicy.from_choice,
    flux.NumericalChoice: NumericalPolicy.from_choice,
}
"""One rule per ``ImagePolicy.spec.policy`` kind (flux ``PolicerFromSpec``)."""


def policy_for(choice: flux.PolicyChoice) -> Policy:
    return POLICIES[type(choice)](choice)
