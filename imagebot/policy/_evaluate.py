"""One ImagePolicy against one TagList: filter → extract → rule → cooldown → choice, explained.

Called by :func:`imagebot.policy.evaluate`. Follows flux image-reflector's reconcile (spec §3.2)
on the stored, descending-byte tag order, then adds what Flux lacks: a cooldown (a tag younger
than ``min_age`` is treated as not pushed yet), downgrade and re-push flags, and a trace that
counts every tag under exactly one reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gc
import heapq
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar

from imagebot.errors import PolicyError
from imagebot.model import flux, images
from imagebot.model.ids import Digest, Tag
from imagebot.model.selections import (
    Candidate,
    Candidates,
    Evaluation,
    Exclusion,
    Repush,
    Rule,
    Selection,
    Trace,
)
from imagebot.patterns import InvalidPattern
from imagebot.policy import _explain
from imagebot.policy._base import TOP, Columns, Policy, Ranked, outranks
from imagebot.policy._constraints import InvalidConstraint
from imagebot.policy._filter import Filter, compile_filter
from imagebot.policy._ordering import policy_for

__all__ = ["Compiled", "compile_policy", "evaluate", "reflect", "select", "validate"]

_RULES: tuple[Rule, ...] = (
    "filter", "duplicate", "not-a-version", "prerelease", "out-of-range", "not-a-number",
    "too-young",
)
_EXAMPLES = 3
_Ordered = TypeVar("_Ordered", Tag, Ranked)
_TOP = TOP


@dataclasses.dataclass(frozen=True, slots=True)
class Compiled:
    policy: Policy
    filter: Filter | None
    rule: str


def compile_policy(spec: flux.ImagePolicy) -> Compiled:
    """Compile the regex and range of ``spec``; raises :class:`PolicyError` naming both."""
    where = f"{spec.source}: " if spec.source else ""
    subject = f"{where}ImagePolicy {spec.key}"
    tag_filter = None
    if spec.filter is not None:
        try:
            tag_filter = compile_filter(spec.filter.pattern, spec.filter.extract)
        except InvalidPattern as exc:
            raise PolicyError(
                f"{subject}: spec.filterTags.pattern {spec.filter.pattern!r} is not a valid "
                f"Go regular expression: {exc}"
            ) from None
    try:
        policy = policy_for(spec.choice)
    except InvalidConstraint as exc:
        text = spec.choice.range if isinstance(spec.choice, flux.SemverChoice) else ""
        raise PolicyError(
            f"{subject}: spec.policy.semver.range {text!r} is not a valid semver range: {exc}"
        ) from None
    return Compiled(policy, tag_filter, _explain.describe(spec, policy.describe()))


def _largest(items: Sequence[_Ordered], k: int) -> list[_Ordered]:
    """``heapq.nlargest(k, items)`` for distinct items; an ascending list (alphabetical ``desc``
    ranks that way) is fed reversed, or every item would replace the top of the heap."""
    if isinstance(items, Columns):
        return items.largest(k)
    if len(items) > 1 and items[0] < items[-1]:
        items = items[::-1]
    return heapq.nlargest(k, items)


@dataclasses.dataclass(slots=True)
class _Tally:
    """Tags excluded so far, by rule."""

    tags: dict[Rule, list[Tag]] = dataclasses.field(default_factory=dict)

    def add(self, rule: Rule, tags: Sequence[Tag]) -> None:
        if tags:
            self.tags.setdefault(rule, []).extend(tags)

    def exclusions(self) -> tuple[Exclusion, ...]:
        return tuple(
            Exclusion(rule, len(self.tags[rule]), tuple(_largest(self.tags[rule], _EXAMPLES)))
            for rule in _RULES if rule in self.tags
        )


@dataclasses.dataclass(slots=True)
class _Pool:
    """Candidate values, the tags behind each, and which of those the cooldown lets through."""

    groups: dict[str, list[Tag]] | None
    """value → tags in stored order; ``None`` when every value is its own tag."""
    chosen: dict[str, Tag] = dataclasses.field(default_factory=dict)
    ready_at: dict[str, datetime.datetime] = dataclasses.field(default_factory=dict)

    def originals(self, value: str) -> list[Tag]:
        return [Tag(value)] if self.groups is None else self.groups[value]

    def tag(self, value: str) -> Tag:
        return self.chosen.get(value) or Tag(value)

    def split(
            self,
            ranked: Sequence[Ranked],
            tally: _Tally,
            *,
            first_seen: Mapping[Tag, datetime.datetime],
            now: datetime.datetime,
            min_age: datetime.timedelta | None,
            current: Tag | None,
    ) -> tuple[Sequence[Ranked], list[Ranked]]:
        """(eligible, held back by the cooldown); picks the tag behind each value.

        Among the old-enough tags of a value the byte-smallest wins, as Flux's map overwrite;
        a tag without a first-seen time counts as seen ``now``. The current tag is never too
        young: the cooldown gates moving to a new tag, it must not roll back a deployed one.
        """
        gap = min_age or datetime.timedelta(0)
        cooling = gap > datetime.timedelta(0)
        if not cooling and self.groups is None:
            return ranked, []
        eligible: list[Ranked] = []
        held: list[Ranked] = []
        for item in ranked:
            value = item[1]
            tags = self.originals(value)
            old, young = tags, []
            if cooling:
                old = [t for t in tags if t == current or now - first_seen.get(t, now) >= gap]
                young = [t for t in tags if t not in old] if len(old) < len(tags) else []
                tally.add("too-young", young)
            if old:
                eligible.append(item)
                self.chosen[value] = old[-1]
                tally.add("duplicate", old[:-1])
            else:
                held.append(item)
                at, tag = min((first_seen.get(t, now) + gap, t) for t in young)
                self.chosen[value], self.ready_at[value] = tag, at
        return eligible, held

    def candidates(self, items: list[Ranked], policy: Policy) -> tuple[Candidate, ...]:
        return tuple(
            Candidate(
                tag=self.tag(value), value=value, version=policy.version(value),
                eligible_at=self.ready_at.get(value),
            )
            for _, value in items
        )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    # An evaluation allocates a few objects per tag (300,000 for 100,000 tags) and frees them only
    # when it returns; nothing in it forms a cycle. Left on, the cyclic collector would walk them,
    # and the rest of the heap, many times over: a quarter of the time (benchmarks/policy.py).
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def evaluate(
        tags: images.TagList,
        spec: flux.ImagePolicy,
        *,
        now: datetime.datetime | None = None,
        current: Tag | None = None,
        current_digest: Digest | None = None,
) -> Evaluation:
    with _collector_paused():
        return _evaluate(tags, spec, now=now, current=current, current_digest=current_digest)


def _evaluate(
        tags: images.TagList,
        spec: flux.ImagePolicy,
        *,
        now: datetime.datetime | None,
        current: Tag | None,
        current_digest: Digest | None,
) -> Evaluation:
    compiled = compile_policy(spec)
    now = tags.scanned_at if now is None else now
    ordered = tags.tags  # deduplicated, in Flux's stored order (TagList makes sure)
    tally = _Tally()

    pool = _Pool(groups=None)
    values: Sequence[str] = ordered
    if compiled.filter is not None:
        groups: dict[str, list[Tag]] = {}
        filtered: list[Tag] = []
        for tag, value in zip(ordered, compiled.filter.values(ordered), strict=True):
            if value is None:
                filtered.append(tag)
            else:
                groups.setdefault(value, []).append(tag)
        tally.add("filter", filtered)
        pool.groups, values = groups, list(groups)

    ranking = compiled.policy.rank(values)
    for rule, rejected in ranking.rejected.items():
        if pool.groups is None:  # every value is its own tag
            tally.add(rule, [Tag(value) for value in rejected])
        else:
            tally.add(rule, [tag for value in rejected for tag in pool.originals(value)])

    base = Trace(rule=compiled.rule, total=len(ordered))
    fatal = [v for rule in compiled.policy.fatal for v in ranking.rejected.get(rule, ())]
    if fatal:
        trace = dataclasses.replace(base, excluded=tally.exclusions())
        reason = _explain.not_a_number([pool.originals(v)[0] for v in fatal])
        return Evaluation(spec.key, None, reason, trace)

    eligible, held = pool.split(
        ranking.ranked, tally, first_seen=tags.first_seen, now=now, min_age=spec.min_age,
        current=current,
    )
    trace = dataclasses.replace(base, excluded=tally.exclusions(), eligible=len(eligible))
    if not eligible:
        held = sorted(held, reverse=True)[:_TOP]
        trace = dataclasses.replace(trace, held_back=pool.candidates(held, compiled.policy))
        return Evaluation(spec.key, None, _explain.no_selection(trace), trace)

    best = compiled.policy.best(eligible)
    tag = pool.tag(best[1])

    def top() -> tuple[Candidate, ...]:  # the runners-up, when the trace is read
        ranked = [best, *(r for r in _largest(eligible, _TOP) if r[1] != best[1])][:_TOP]
        return pool.candidates(ranked, compiled.policy)

    held = sorted((r for r in held if outranks(r[0], best[0])), reverse=True)[:_TOP]
    notes: list[str] = []
    downgrade = _downgrade(compiled, best, current, notes)
    digest = _digest(spec, tags, tag, current=current, current_digest=current_digest, notes=notes)
    repush = _repush(tags, tag)
    trace = dataclasses.replace(
        trace,
        top=Candidates(top),
        held_back=pool.candidates(held, compiled.policy),
        notes=tuple(notes),
    )
    reason = _explain.selected(
        tag, trace, previous=current, downgrade=downgrade, repushed=repush is not None,
    )
    selection = Selection(
        policy=spec.key, repo=tags.repo, tag=tag, digest=digest, candidates=len(eligible),
        previous=current, downgrade=downgrade, repush=repush, trace=trace,
    )
    return Evaluation(spec.key, selection, reason, trace)


def _downgrade(compiled: Compiled, best: Ranked, current: Tag | None, notes: list[str]) -> bool:
    if current is None:
        return False
    value: str | None = current
    if compiled.filter is not None:
        value = compiled.filter.value(current)
    if value is None:
        notes.append(f"the current tag {current!r} does not match the filter; not compared")
        return False
    order = compiled.policy.order(value)
    if order is None:
        notes.append(f"the current tag {current!r} is not comparable under this policy")
        return False
    return outranks(order, best[0])


def reflect(
        evaluation: Evaluation,
        spec: flux.ImagePolicy,
        tags: images.TagList,
        *,
        current_digest: Digest | None = None,
) -> Evaluation:
    """``evaluation`` finished with the digests ``tags`` carries now, looked up after it chose:
    what :func:`evaluate` returns on ``tags``, without ranking again (no policy ranks by digest,
    so the tag stays; its digest, re-push record, notes and reason follow ``tags``). The run
    evaluates once, asks the registry for the selected tags' digests only, then reflects."""
    selection = evaluation.selection
    if selection is None:
        return evaluation
    tag, current = selection.tag, selection.previous
    notes = [n for n in evaluation.trace.notes if n != _no_digest_note(spec, tag)]
    digest = _digest(spec, tags, tag, current=current, current_digest=current_digest, notes=notes)
    repush = _repush(tags, tag)
    trace = dataclasses.replace(evaluation.trace, notes=tuple(notes))
    reason = _explain.selected(tag, trace, previous=current, downgrade=selection.downgrade,
                               repushed=repush is not None)
    return dataclasses.replace(
        evaluation, reason=reason, trace=trace,
        selection=dataclasses.replace(selection, digest=digest, repush=repush, trace=trace),
    )


def _no_digest_note(spec: flux.ImagePolicy, tag: Tag) -> str:
    return (f"digestReflectionPolicy is {spec.digest_reflection} but the scan has no digest for "
            f"{tag!r}; the selection carries none")


def _digest(
        spec: flux.ImagePolicy,
        tags: images.TagList,
        tag: Tag,
        *,
        current: Tag | None,
        current_digest: Digest | None,
        notes: list[str],
) -> Digest | None:
    if spec.digest_reflection == "Never":
        return None
    if spec.digest_reflection == "IfNotPresent" and tag == current and current_digest:
        return current_digest  # Flux resolves it once per tag and keeps it while the tag stays
    digest = tags.digests.get(tag)
    if digest is None:
        notes.append(_no_digest_note(spec, tag))
    return digest


def _repush(tags: images.TagList, tag: Tag) -> Repush | None:
    first, digest = tags.first_digests.get(tag), tags.digests.get(tag)
    if first and digest and first != digest:
        return Repush(tag, first, digest)
    return None


def select(
        tags: images.TagList,
        spec: flux.ImagePolicy,
        *,
        now: datetime.datetime | None = None,
        current: Tag | None = None,
        current_digest: Digest | None = None,
) -> Selection | None:
    return evaluate(tags, spec, now=now, current=current, current_digest=current_digest).selection


def validate(spec: flux.ImagePolicy) -> None:
    compile_policy(spec)
