"""Atomic file replacement: write a temporary file beside the target, then rename over it.

Readers see the old bytes or the new ones, never a half-written file; the file mode is kept.
The rename replaces the directory entry itself, so a path that became a symbolic link is
replaced, not followed. Called by :func:`imagebot.setters.write`.

Temporary files are named ``.<name>.<pid>.<random>.imagebot``. One left behind by a killed
process (SIGKILL between write and rename) is removed by the next write of the same file, or by
:func:`remove_stale`, once it is provably stale: a regular file, owned by this user, whose
writer process no longer exists. Nothing else is ever removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["SUFFIX", "remove_stale", "replace_file"]

SUFFIX = ".imagebot"
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[A-Za-z0-9_]+\.imagebot$")


def replace_file(path: Path, data: bytes) -> None:
    """Replace ``path``'s content with ``data`` atomically, keeping its permission bits."""
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    remove_stale([path.parent], name=path.name)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def remove_stale(directories: Iterable[Path], *, name: str | None = None) -> list[Path]:
    """Remove the temporary files imagebot left in ``directories`` (only those of ``name``)
    whose writer is gone; the paths removed."""
    removed: list[Path] = []
    for directory in directories:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            match = _TEMP.match(entry.name)
            if match is None or (name is not None and match["name"] != name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or _alive(int(match["pid"])):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
