"""Shared by the setters tests: the golden policy values and the byte-diff property checker."""

from __future__ import annotations

from collections.abc import Iterable

from imagebot import yamldoc
from imagebot.model.changes import FieldChange
from imagebot.model.ids import Digest, ObjectKey, Tag
from imagebot.model.images import ImageRef

DIGEST = Digest("sha256:" + "0123456789abcdef" * 4)

VALUES: dict[ObjectKey, ImageRef] = {
    ObjectKey("flux-system", "podinfo"): ImageRef("ghcr.io/stefanprodan/podinfo", Tag("6.7.1")),
    ObjectKey("flux-system", "podinfo-digest"): ImageRef(
        "ghcr.io/stefanprodan/podinfo", Tag("6.7.1"), DIGEST
    ),
    ObjectKey("flux-system", "redis"): ImageRef("redis", Tag("7.4.1")),
    ObjectKey("flux-system", "numeric"): ImageRef("registry.example.com/team/svc", Tag("3.20")),
    ObjectKey("flux-system", "epoch"): ImageRef("registry.example.com/team/batch", Tag("1606364286")),
    ObjectKey("flux-system", "truthy"): ImageRef("registry.example.com/team/flag", Tag("true")),
    ObjectKey("flux-system", "nulltag"): ImageRef("registry.example.com/team/none", Tag("null")),
    ObjectKey("flux-system", "dated"): ImageRef("registry.example.com/team/daily", Tag("2021-01-08")),
    ObjectKey("flux-system", "semver"): ImageRef("registry.example.com/team/web", Tag("v2.1.0")),
    ObjectKey("apps", "rollout"): ImageRef("argoproj/rollouts-demo", Tag("yellow")),
}
"""The policy results every golden case is run with."""


def assert_only_marked_values_differ(
    before: bytes, after: bytes, changes: Iterable[FieldChange]
) -> None:
    """The byte-diff property: ``after`` equals ``before`` except inside scalars that ``changes``
    names (by line), and each of those reads back as its new value.

    Both texts are parsed; scalars are paired in order and must have the same paths; the text
    between consecutive scalars and the text of every unchanged scalar must be identical.
    """
    old_text, new_text = before.decode("utf-8"), after.decode("utf-8")
    old, new = yamldoc.locate_scalars(old_text), yamldoc.locate_scalars(new_text)
    assert [(s.document, s.path) for s in old] == [(s.document, s.path) for s in new]
    expected = {change.line: change for change in changes}
    seen: set[int] = set()
    old_cursor = new_cursor = 0
    for o, n in zip(old, new, strict=True):
        old_gap, new_gap = old_text[old_cursor : o.start], new_text[new_cursor : n.start]
        if o.value != n.value:
            change = expected.get(o.line)
            assert change is not None, f"line {o.line}: {o.value!r} changed but is not marked"
            assert (o.value, n.value) == (change.old_value, change.new_value)
            seen.add(o.line)
            if o.start == o.end and o.style == "plain":  # `tag:` became `tag: value`
                new_gap = new_gap[:-1] if new_gap.endswith(" ") else new_gap
        else:
            assert old_text[o.start : o.end] == new_text[n.start : n.end], f"line {o.line}"
        assert old_gap == new_gap, f"bytes before line {o.line} differ"
        old_cursor, new_cursor = o.end, n.end
    assert old_text[old_cursor:] == new_text[new_cursor:], "bytes after the last scalar differ"
    assert seen == set(expected), f"reported but not changed: {set(expected) - seen}"
