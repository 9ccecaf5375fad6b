"""What ``imagebot status`` shows: the last outcome of each repository, policy and automation.

Produced by :mod:`imagebot.pipeline` (after each scan and each automation run) and stored by
:mod:`imagebot.state`; read back by the ``status`` command and the scheduler's metrics. All
times are UTC; messages are one line and never contain a secret.
"""

from __future__ import annotations

import dataclasses
import datetime

from imagebot.model.ids import ObjectKey

__all__ = ["AutomationStatus", "PolicyStatus", "RepositoryStatus", "Status"]


@dataclasses.dataclass(frozen=True, slots=True)
class RepositoryStatus:
    """The last scan of one ImageRepository (``flux get images repository``)."""

    key: ObjectKey
    image: str
    scanned_at: datetime.datetime
    tag_count: int | None
    """Tags listed by the last scan that worked (kept when a later scan fails)."""
    error: str | None = None
    last_success: datetime.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyStatus:
    """The last evaluation of one ImagePolicy (``flux get images policy``)."""

    key: ObjectKey
    evaluated_at: datetime.datetime
    latest: str | None
    """The selected tag (``None``: nothing selectable)."""
    reason: str = ""
    held_back: tuple[str, ...] = ()
    """Better tags the cooldown holds back, as ``tag (eligible at …)``."""
    error: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AutomationStatus:
    """The last run of one ImageUpdateAutomation (``flux get images update``)."""

    key: ObjectKey
    ran_at: datetime.datetime
    error: str | None = None
    last_commit: str | None = None
    """``branch@sha`` of the last commit imagebot pushed (kept across no-op runs)."""
    last_pull_request: str | None = None
    last_change_at: datetime.datetime | None = None
    """When the last commit or pull request was made."""


@dataclasses.dataclass(frozen=True, slots=True)
class Status:
    repositories: tuple[RepositoryStatus, ...] = ()
    policies: tuple[PolicyStatus, ...] = ()
    automations: tuple[AutomationStatus, ...] = ()
