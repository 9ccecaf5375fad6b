"""Problems found in a configuration or manifest tree, as data (``imagebot validate``).

Produced by :mod:`imagebot.config` (objects, kinds, keys, references between objects) and by the
validate command (regexes, semver ranges, markers); printed as text, JSON or GitHub annotations.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = ["Finding", "Severity"]

Severity = Literal["error", "warning"]


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    """One problem; ``file``/``line`` locate it (``line`` 0 when unknown)."""

    severity: Severity
    code: str
    """What kind of mistake, stable for scripts: ``unknown-kind``, ``unknown-key``, ``invalid``, …"""
    message: str
    """One line, without the location."""
    file: str = ""
    line: int = 0
    document: int = 0
    """1-based document of ``file`` (0: not about one document)."""
    key_path: str = ""
    """Key path inside the document (``spec.policy.semver.range``), where known."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message} [{self.code}]" if where else \
            f"{self.severity}: {self.message} [{self.code}]"
