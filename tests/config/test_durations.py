"""``config.parse_duration``: Go durations as Flux accepts them (``^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$``).

Aspects under test: each unit, compound and fractional values, ``ms`` not read as ``m`` + ``s``,
and the inputs Go's syntax rejects (no unit, days, spaces, signs, upper case, empty).
"""

from __future__ import annotations

import datetime

import pytest

from imagebot import config


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("30s", 30, id="seconds"),
        pytest.param("5m", 300, id="minutes"),
        pytest.param("72h", 72 * 3600, id="hours"),
        pytest.param("500ms", 0.5, id="milliseconds"),
        pytest.param("1h30m", 5400, id="compound"),
        pytest.param("1m0s", 60, id="flux-default-spelling"),
        pytest.param("1.5h", 5400, id="fractional"),
        pytest.param("2m500ms", 120.5, id="minutes-then-milliseconds"),
        pytest.param("0s", 0, id="zero"),
        pytest.param("30s5m", 330, id="units-in-any-order"),
    ],
)
def test_valid_durations(text: str, seconds: float) -> None:
    assert config.parse_duration(text) == datetime.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("300", id="no-unit"),
        pytest.param("1d", id="days"),
        pytest.param("1w", id="weeks"),
        pytest.param("5M", id="upper-case"),
        pytest.param("1h 30m", id="space"),
        pytest.param(" 5m", id="leading-space"),
        pytest.param("-5m", id="negative"),
        pytest.param("+5m", id="plus-sign"),
        pytest.param("m", id="unit-only"),
        pytest.param(".5h", id="no-integer-part"),
        pytest.param("5us", id="microseconds"),
        pytest.param("five minutes", id="words"),
    ],
)
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration \(examples: 30s, 5m, 1h30m, 72h\)"):
        config.parse_duration(text)
