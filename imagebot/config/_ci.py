"""What the CI system around imagebot is, from its environment (config is the one env reader)."""

from __future__ import annotations

import os

__all__ = ["in_github_actions"]


def in_github_actions() -> bool:
    """True inside a GitHub Actions job (``GITHUB_ACTIONS=true``): findings become annotations."""
    return os.environ.get("GITHUB_ACTIONS") == "true"
