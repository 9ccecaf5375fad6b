"""The one retry policy: capped exponential ceilings, full jitter inside them, a bound on
server-requested waits, and only temporary errors retried."""

from __future__ import annotations

import random

import pytest

from imagebot import errors
from imagebot.backoff import DEFAULT, Backoff


def test_ceilings_double_up_to_the_cap() -> None:
    policy = Backoff(base=0.5, cap=3.0)
    assert [policy.ceiling(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_full_jitter_stays_under_the_ceiling_and_varies() -> None:
    rng = random.Random(7)
    delays = [DEFAULT.delay(3, rng=rng) for _ in range(200)]
    assert all(0 <= d <= DEFAULT.ceiling(3) for d in delays)
    assert len(set(delays)) > 150  # not lock-step: two bots that collided spread out


def test_without_jitter_the_ceiling_is_the_delay() -> None:
    assert Backoff(base=1.0, jitter=False).delay(2) == 4.0


def test_long_server_requested_waits_are_not_slept_through() -> None:
    assert DEFAULT.honours(DEFAULT.max_wait)
    assert not DEFAULT.honours(DEFAULT.max_wait + 1)


@pytest.mark.parametrize(("error", "retried"), [
    pytest.param(errors.RegistryUnavailable("x"), True, id="registry-unavailable"),
    pytest.param(errors.PushRejected("x"), True, id="push-race"),
    pytest.param(errors.ForgeUnavailable("x"), True, id="forge-unavailable"),
    pytest.param(errors.RegistryAuthError("x"), False, id="auth"),
    pytest.param(errors.ConfigError("x"), False, id="config"),
])
def test_only_temporary_errors_are_retried(error: errors.ImagebotError, retried: bool) -> None:
    assert Backoff.retries(error) is retried


def test_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="attempts"):
        Backoff(attempts=0)
