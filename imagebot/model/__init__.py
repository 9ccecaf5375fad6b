"""Value types that cross stage boundaries: frozen dataclasses, no I/O, no third-party imports.

Import the submodule, not the names (``from imagebot.model import images`` → ``images.TagList``),
so each call site shows where a type lives.
"""

__all__: list[str] = []
