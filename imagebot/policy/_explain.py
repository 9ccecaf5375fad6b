"""The words of an evaluation: the policy described, the one-line reason, exclusion summaries.

Called by :mod:`imagebot.policy._evaluate`; the strings end up in ``Evaluation.reason``,
``Trace.rule``, ``imagebot plan`` and ``imagebot policy test``. Pure functions, no I/O.
"""

from __future__ import annotations

import datetime

from imagebot.model import flux
from imagebot.model.selections import Exclusion, Rule, Trace

__all__ = ["describe", "duration", "no_selection", "not_a_number", "selected"]

_PHRASES: dict[Rule, tuple[str, str]] = {
    "filter": ("does not match the filter", "do not match the filter"),
    "duplicate": ("duplicates an extracted value", "duplicate an extracted value"),
    "not-a-version": ("is not a version", "are not versions"),
    "prerelease": (
        "is a prerelease the range does not ask for",
        "are prereleases the range does not ask for",
    ),
    "out-of-range": ("is out of range", "are out of range"),
    "not-a-number": ("is not a number", "are not numbers"),
    "too-young": ("is too young", "are too young"),
}


def duration(value: datetime.timedelta) -> str:
    """``72h``, ``90m``, ``1h30m``, ``45s``: the way durations are written in the YAML."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def describe(spec: flux.ImagePolicy, rule: str) -> str:
    """``semver range '^1.2' on '$ts' extracted from tags matching '^main-', cooldown 72h``."""
    text = rule
    if spec.filter is not None and spec.filter.extract:
        text += (
            f" on {spec.filter.extract!r} extracted from tags matching {spec.filter.pattern!r}"
        )
    elif spec.filter is not None:
        text += f" on tags matching {spec.filter.pattern!r}"
    if spec.min_age:
        text += f", cooldown {duration(spec.min_age)}"
    return text


def _plural(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _summary(excluded: tuple[Exclusion, ...]) -> str:
    return ", ".join(
        f"{e.count} {_PHRASES[e.rule][0] if e.count == 1 else _PHRASES[e.rule][1]}"
        for e in excluded
    )


def selected(
        tag: str, trace: Trace, *, previous: str | None, downgrade: bool, repushed: bool,
) -> str:
    text = f"selected {tag!r}, the latest of {_plural(trace.eligible, 'candidate', 'candidates')}"
    if previous is not None and previous == tag:
        text += " (unchanged)"
    elif downgrade:
        text += f" (a downgrade from {previous!r})"
    if repushed:
        text += "; the tag was re-pushed since imagebot first saw it"
    return text


def no_selection(trace: Trace) -> str:
    if trace.total == 0:
        return "no tags to choose from: the repository lists none (after its exclusion list)"
    text = (
        f"no tag satisfies the policy: of {_plural(trace.total, 'tag', 'tags')}, "
        f"{_summary(trace.excluded)}"
    )
    if trace.held_back and trace.held_back[0].eligible_at is not None:
        first = min(c.eligible_at for c in trace.held_back if c.eligible_at is not None)
        text += f"; the first becomes old enough at {first.isoformat()}"
    return text


def not_a_number(tags: list[str]) -> str:
    more = f" (and {len(tags) - 1} more)" if len(tags) > 1 else ""
    return (
        f"the numerical policy fails: tag {tags[0]!r}{more} is not a number, and like Flux one "
        "such tag fails the whole policy; narrow filterTags.pattern to numeric tags"
    )
