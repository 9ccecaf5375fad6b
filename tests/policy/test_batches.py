"""The batch fast paths of the policy stage give exactly the one-by-one answers.

Aspects: ``parse_tags`` against ``parse_tag``, ``parse_floats`` against ``parse_float``,
``Filter.values`` against ``Filter.value``, ``search_all`` (and its literal-prefix shortcut) against ``search``, ``Columns`` against the tuples they stand for, and the numerical rule's max-selection against Flux's
loop over the stored order (ties and NaN included) — for lists hypothesis builds from the
shapes the fast paths special-case (plain releases, 19/20-digit parts, decimals, overflow,
newlines inside extracted values, non-ASCII tags).
"""

from __future__ import annotations

import heapq
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot import patterns
from imagebot.policy import _base, _filter, _gofloat, _ordering, _semver

_digits = st.text("0123456789", min_size=1, max_size=21)
_release = st.builds(lambda v, a, b, c: f"{v}{a}.{b}.{c}", st.sampled_from(["", "v", "V"]), _digits, _digits, _digits)
_odd = st.sampled_from([
    "1.2", "1.2-rc.1", "1.2.3-rc.01", "1.2.3+b1", "1.2.3.4", "latest", "1.2.3\n4.5.6", "", "é.1.2",
    "01.02.03", "1.2.3-", "18446744073709551616.0.0", "18446744073709551615.0.0-0",
])
_tags = st.lists(st.one_of(_release, _odd, st.text(max_size=8)), max_size=25)


@settings(max_examples=300, deadline=None)
@given(_tags)
def test_parse_tags_agrees_with_parse_tag(values: list[str]) -> None:
    texts, versions = _semver.parse_tags(values)
    assert sorted(zip(texts, versions, strict=True), key=repr) == sorted(
        ((v, _semver.parse_tag(v)) for v in values), key=repr
    )


_number = st.one_of(
    _digits, st.builds(lambda a, b: f"{a}.{b}", _digits, _digits),
    st.sampled_from(["1_000", "1__0", "+.5", "5.", "1e3", "1e400", "-1e400", "nan", "Inf", "0x1p4", "1\n2",
                     "٣", " 1", "9" * 400]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_number, max_size=25))
def test_parse_floats_agrees_with_parse_float(values: list[str]) -> None:
    expected = [_gofloat.parse_float(v) for v in values]
    assert repr(_gofloat.parse_floats(values)) == repr(expected)  # repr: nan == nan


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_release, _odd, st.text(max_size=8)), max_size=25),
       st.sampled_from([("^v?(?P<v>[0-9]+)", "$v"), ("[0-9]+", ""), ("(?P<a>[a-z])(?P<b>[0-9])?", "$b-$a"),
                        ("^(?P<x>.*)$", "${x}\n")]))
def test_filter_values_agree_with_value(tags: list[str], spec: tuple[str, str]) -> None:
    compiled = _filter.compile_filter(*spec)
    assert compiled.values(tags) == [compiled.value(t) for t in tags]


def _flux_loop(ranked: list[tuple[tuple[float], str]]) -> tuple[tuple[float], str]:
    items = sorted(ranked, key=lambda item: item[1], reverse=True)
    latest = items[0]
    for item in items[1:]:
        if not item[0][0] < latest[0][0]:
            latest = item
    return latest


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text("0123456789.x", min_size=1, max_size=4),
                       st.sampled_from([0.0, -0.0, 1.0, 2.0, -3.5, math.inf, math.nan]), min_size=1))
def test_numerical_best_is_fluxs_loop(numbers: dict[str, float]) -> None:
    ranked = [((number,), value) for value, number in numbers.items()]
    assert repr(_ordering.NumericalPolicy().best(ranked)) == repr(_flux_loop(ranked))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text("ab1.", max_size=4), unique=True), st.integers(0, 7), st.booleans(), st.booleans())
def test_columns_are_the_tuples_they_stand_for(values: list[str], k: int, numeric: bool, flip: bool) -> None:
    mirror = _ordering.AlphabeticalPolicy("desc").order
    keys: list[object] = [float(len(v) % 3) for v in values] if numeric else list(values)
    flipper = (lambda key: mirror(key)[0]) if flip and not numeric else None  # type: ignore[index]
    columns = _base.Columns(keys, values, flip=flipper)
    items = [((key if flipper is None else flipper(key),), value) for key, value in zip(keys, values, strict=True)]
    assert list(columns) == items
    assert [columns[i] for i in range(len(items))] == items
    assert list(columns[::-1]) == items[::-1]
    assert columns.largest(k) == heapq.nlargest(k, items)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text("abmain-v.1Z", max_size=8), max_size=20),
       st.sampled_from([r"^main-[a-f0-9]+-(?P<ts>[0-9]+)$", r"^ab?c", r"^a|b", r"^v\.1", r"^v\.?1", r"^a{2}",
                        r"^a*b", r"^main", r"ain", r"^m(?i)AIN", r"^ma\Qin\E", r"^$"]))
def test_search_all_agrees_with_search(subjects: list[str], pattern: str) -> None:
    compiled = patterns.compile_pattern(pattern)
    assert compiled.search_all(subjects) == [compiled.search(s) for s in subjects]
