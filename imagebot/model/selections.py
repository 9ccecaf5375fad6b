"""What a policy chose, and why: ``Selection``, its explain ``Trace`` and the ``Evaluation`` wrapper.

Produced by :mod:`imagebot.policy` (``policy.evaluate`` / ``policy.select``); consumed by the
setters (``Selection.tag``/``digest``), publish (downgrade and re-push flags in commit messages),
``imagebot plan`` (current → selected with the reason) and ``imagebot policy test --explain``.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterator, Sequence
from typing import Literal, overload

from imagebot.model.ids import Digest, ObjectKey, Tag
from imagebot.model.images import ImageRepo

__all__ = ["Candidate", "Candidates", "Evaluation", "Exclusion", "Repush", "Rule", "Selection", "Trace"]

Rule = Literal[
    "filter",  # filterTags.pattern did not match
    "duplicate",  # another tag extracted to the same value (Flux keeps the byte-smallest)
    "not-a-version",  # semver: not a version by Flux's tag rules
    "prerelease",  # semver: a prerelease, and no constraint of any || branch names one
    "out-of-range",  # semver: a version, but outside the range
    "not-a-number",  # numerical: not a Go float (this fails the whole policy)
    "too-young",  # cooldown: first seen less than min_age ago
]
"""Why a tag was not a candidate; each excluded tag is counted under the first rule it fails."""


@dataclasses.dataclass(frozen=True, slots=True)
class Exclusion:
    """How many tags one rule excluded, with the first few (in stored, descending byte order)."""

    rule: Rule
    count: int
    examples: tuple[Tag, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """A tag that satisfied the policy, as listed among the top candidates of a trace."""

    tag: Tag
    value: str
    """What the rule compared: the extracted value with ``filterTags.extract``, else the tag."""
    version: str | None = None
    """How semver read ``value`` when that differs from the text (``01.02.03`` → ``1.2.3``)."""
    eligible_at: datetime.datetime | None = None
    """Set for a candidate held back by the cooldown: when it becomes selectable."""


class Candidates(Sequence[Candidate]):
    """A trace's top candidates, worked out when first read: a selection among 100,000 tags need
    not rank the runners-up that only ``policy test --explain`` and ``scan`` show. Compares equal
    to the tuple of its items."""

    __slots__ = ("_items", "_make")

    def __init__(self, make: Callable[[], Sequence[Candidate]]) -> None:
        self._make: Callable[[], Sequence[Candidate]] | None = make
        self._items: tuple[Candidate, ...] = ()

    def _all(self) -> tuple[Candidate, ...]:
        if self._make is not None:
            self._items, self._make = tuple(self._make()), None
        return self._items

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Candidate, ...]: ...
    def __getitem__(self, index: int | slice) -> Candidate | tuple[Candidate, ...]:
        return self._all()[index]

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Candidates | tuple):
            return self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return repr(self._all())


@dataclasses.dataclass(frozen=True, slots=True)
class Trace:
    """The explanation of one evaluation: every tag is either a candidate or counted once here."""

    rule: str
    """The policy in words, e.g. ``semver '>=1.0.0 <2.0.0' on extract '$ts'``."""
    total: int
    """Tags in the list the policy saw (after the repository's exclusion list)."""
    excluded: tuple[Exclusion, ...] = ()
    eligible: int = 0
    """Distinct candidate values that passed every rule, the cooldown included."""
    top: Sequence[Candidate] = ()
    """The best eligible candidates, best first (at most five); a tuple or :class:`Candidates`."""
    held_back: tuple[Candidate, ...] = ()
    """Candidates better than the selection that only the cooldown excluded, best first."""
    notes: tuple[str, ...] = ()
    """Warnings that do not change the choice (unknown digest, current tag not comparable)."""

    def count(self, rule: Rule) -> int:
        return sum(e.count for e in self.excluded if e.rule == rule)


@dataclasses.dataclass(frozen=True, slots=True)
class Repush:
    """The selected tag now points at another image than when imagebot first saw it."""

    tag: Tag
    first_digest: Digest
    digest: Digest


@dataclasses.dataclass(frozen=True, slots=True)
class Selection:
    """The tag (and, with digest reflection, the digest) a policy chose for its repository."""

    policy: ObjectKey
    repo: ImageRepo
    tag: Tag
    digest: Digest | None = None
    """Set when ``digestReflectionPolicy`` asks for one and the scan knows it."""
    candidates: int = 0
    previous: Tag | None = None
    """The current value the caller passed in, if any."""
    downgrade: bool = False
    """The selection ranks below ``previous`` under the policy's own order (applied, but flagged)."""
    repush: Repush | None = None
    trace: Trace | None = None

    @property
    def changed(self) -> bool:
        return self.previous != self.tag


@dataclasses.dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of one policy: a selection or ``None``, always with a one-line reason and a trace.

    ``selection is None`` means "leave every field as it is": no tags, nothing eligible, or a
    numerical policy that met a non-number.
    """

    policy: ObjectKey
    selection: Selection | None
    reason: str
    trace: Trace
