"""Token lifetimes: expires_in defaults and floor, issued_at parsing and clock skew (§5)."""

from __future__ import annotations

import datetime

import pytest

from imagebot.scan._auth import _lifetime

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param({}, 54.0, id="missing-expires-in-means-60s"),
        pytest.param({"expires_in": 10}, 54.0, id="below-60-is-raised-to-60"),
        pytest.param({"expires_in": 300}, 270.0, id="renewed-10-percent-early"),
        pytest.param({"expires_in": 300, "issued_at": "2026-01-01T11:58:00Z"}, 162.0, id="age-is-subtracted"),
        pytest.param({"expires_in": 300, "issued_at": "2026-01-01T11:59:00.123456789+00:00"}, (300 - 59.876544) * 0.9,
                     id="nanoseconds-and-offset"),
        pytest.param({"expires_in": 300, "issued_at": "0001-01-01T00:00:00Z"}, 270.0, id="go-zero-time-means-now"),
        pytest.param({"expires_in": 300, "issued_at": "2026-01-01T13:00:00Z"}, 270.0, id="future-means-now"),
        pytest.param({"expires_in": 300, "issued_at": "yesterday"}, 270.0, id="unparsable-means-now"),
        pytest.param({"expires_in": 300, "issued_at": "2026-01-01T11:00:00Z"}, 0.0, id="already-expired"),
        pytest.param({"expires_in": "300"}, 54.0, id="non-numeric-ignored"),
    ],
)
def test_lifetime(answer: dict[str, object], expected: float) -> None:
    assert _lifetime(answer, NOW) == pytest.approx(expected, abs=0.01)
