"""Go's ``strconv.ParseFloat`` as the numerical policy applies it (spec §3.6)."""

from __future__ import annotations

import math

import pytest

from imagebot.policy._gofloat import parse_float, parse_floats, plain_decimals


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("42", 42.0, id="integer"),
        pytest.param("007", 7.0, id="leading-zeros"),
        pytest.param("-1.5", -1.5, id="signed-fraction"),
        pytest.param("+.5", 0.5, id="leading-dot"),
        pytest.param("5.", 5.0, id="trailing-dot"),
        pytest.param("1e3", 1000.0, id="exponent"),
        pytest.param("1E-2", 0.01, id="negative-exponent"),
        pytest.param("1_000", 1000.0, id="underscore-between-digits"),
        pytest.param("1_000.000_1", 1000.0001, id="underscores-in-fraction"),
        pytest.param("0x1p4", 16.0, id="hex-with-p-exponent"),
        pytest.param("0x_1.8p1", 3.0, id="hex-underscore-after-prefix"),
        pytest.param("inf", math.inf, id="inf"),
        pytest.param("-Infinity", -math.inf, id="signed-infinity-any-case"),
        pytest.param("1e-400", 0.0, id="underflow-is-zero"),
        pytest.param("9" * 400 + "e-400", 9.999999999999999e-1, id="long-mantissa"),
    ],
)
def test_accepted(text: str, expected: float) -> None:
    assert parse_float(text) == pytest.approx(expected)


def test_nan_is_a_number() -> None:
    value = parse_float("NaN")
    assert value is not None and math.isnan(value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("latest", id="word"),
        pytest.param("0x10", id="hex-without-exponent"),
        pytest.param("1e400", id="overflow-is-a-range-error"),
        pytest.param("+nan", id="signed-nan"),
        pytest.param("infi", id="partial-infinity"),
        pytest.param(" 1", id="leading-space"),
        pytest.param("1_", id="trailing-underscore"),
        pytest.param("_1", id="leading-underscore"),
        pytest.param("1__0", id="double-underscore"),
        pytest.param("1_.5", id="underscore-before-dot"),
        pytest.param("1e", id="empty-exponent"),
        pytest.param(".", id="dot-only"),
        pytest.param("", id="empty"),
        pytest.param("١٢", id="non-ascii-digits"),
        pytest.param("1.2.3", id="version"),
        pytest.param("0b101", id="binary"),
    ],
)
def test_rejected(text: str) -> None:
    assert parse_float(text) is None


# the batch fast path (plain_decimals) takes only lists where Python's float and Go agree


@pytest.mark.parametrize(
    "odd",
    ["1e3", "+1", "-1", "0x10", "0x1p4", "1_000", "inf", "NaN", " 1", "1\n", "1.2.3", ".", "", "١٢", "9" * 400],
)
def test_plain_decimals_leave_every_other_form_to_the_go_grammar(odd: str) -> None:
    values = ["10", "2.5", odd]
    assert plain_decimals(values) is None
    fallback = parse_floats(values)
    assert repr(fallback) == repr([10.0, 2.5, parse_float(odd)])  # repr: nan == nan


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(["5.", ".5", "007", "0"], [5.0, 0.5, 7.0, 0.0], id="leading-and-trailing-dots-zeros"),
        pytest.param(["1" + "0" * 308, "1" + "0" * 308], [1e308, 1e308], id="sum-overflows-numbers-do-not"),
    ],
)
def test_plain_decimals(values: list[str], expected: list[float]) -> None:
    assert plain_decimals(values) == expected


def test_plain_decimals_refuse_an_overflow_like_go() -> None:
    assert plain_decimals(["1", "9" * 400]) is None
    assert parse_floats(["1", "9" * 400]) == [1.0, None]
