"""The one retry policy of imagebot: how long to wait between tries, and which errors to retry.

Registry requests (:mod:`imagebot.scan`), pushes that lost a race (:mod:`imagebot.git`) and
forge calls (:mod:`imagebot.publish`) all wait by :class:`Backoff`: capped exponential growth
with full jitter (so two bots that collided do not collide again in lock-step), a bounded number
of tries, and a ceiling on a wait a server asks for (``Retry-After``) beyond which the error is
raised with its ``delay`` for the scheduler instead of blocking the run. Only
:class:`~imagebot.errors.TemporaryError` is retried; everything else needs a human.
Domain logic (the registry's circuit breaker, GitHub's rate-limit headers) sits on top.
"""

from __future__ import annotations

import dataclasses
import random

from imagebot.errors import ImagebotError, TemporaryError

__all__ = ["DEFAULT", "Backoff"]


@dataclasses.dataclass(frozen=True, slots=True)
class Backoff:
    """``for attempt in range(policy.attempts): ... sleep(policy.delay(attempt))``."""

    attempts: int = 4
    """Tries in all, the first one included."""
    base: float = 0.5
    """The ceiling of the first wait, in seconds; it grows by ``factor`` with every retry..."""
    cap: float = 30.0
    """...up to this ceiling."""
    factor: float = 2.0
    """Growth per retry (Argo CD's sync ``retry.backoff.factor``; 3 for its self-heal backoff)."""
    max_wait: float = 120.0
    """A server-requested wait longer than this is not slept: the error goes up with its delay."""
    jitter: bool = True
    """Full jitter: wait a uniform random time up to the ceiling (off only for exact tests)."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def ceiling(self, attempt: int) -> float:
        """The longest wait after the ``attempt``-th failed try (0-based)."""
        try:
            grown = self.base * self.factor**attempt
        except OverflowError:  # thousands of failures in a row: the cap was reached long ago
            return self.cap
        return min(self.cap, grown)

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """How long to wait after the ``attempt``-th failed try (0-based)."""
        ceiling = self.ceiling(attempt)
        return (rng or _RNG).uniform(0, ceiling) if self.jitter else ceiling

    def honours(self, requested: float) -> bool:
        """Whether a server-requested wait (``Retry-After``) is short enough to sleep through."""
        return requested <= self.max_wait

    @staticmethod
    def retries(error: ImagebotError) -> bool:
        """Whether ``error`` is worth another try (only temporary errors are)."""
        return isinstance(error, TemporaryError)


DEFAULT = Backoff()
"""The policy every adapter uses unless a caller (a test, a setting) passes another."""

_RNG = random.Random()
