"""Atomic file replacement: write a temporary file beside the target, then rename over it.

Readers see the old bytes or the new ones, never a half-written file; the file mode is kept.
The rename replaces the directory entry itself, so a path that became a symbolic link is
replaced, not followed. Called by :func:`imagebot.setters.write`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["replace_file"]


def replace_file(path: Path, data: bytes) -> None:
    """Replace ``path``'s content with ``data`` atomically, keeping its permission bits."""
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".imagebot")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
