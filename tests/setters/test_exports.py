"""The stage's contract is its ``__all__``: complete, and every name in it exists."""

from __future__ import annotations

import types

from imagebot import setters
from imagebot.model import changes


def test_all_is_complete_and_resolvable() -> None:
    for module in (setters, changes):
        public = {
            name for name, value in vars(module).items()
            if not name.startswith("_") and not isinstance(value, types.ModuleType)
            and getattr(value, "__module__", module.__name__).startswith(module.__name__)
        }
        assert public <= set(module.__all__), module.__name__
        assert all(hasattr(module, name) for name in module.__all__)
