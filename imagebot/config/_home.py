"""Where imagebot keeps what it writes by default: the state store and its clones.

``$IMAGEBOT_HOME`` if set, else ``$XDG_STATE_HOME/imagebot``, else ``~/.local/state/imagebot`` —
never the working directory, which is ``/`` (and not writable) in a container. Called by the CLI
commands for the defaults of ``--state`` (``<home>/state.db``) and ``--workdir`` (``<home>/git``);
the container image sets ``IMAGEBOT_HOME=/var/lib/imagebot``, a declared volume.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from imagebot.errors import ConfigError

__all__ = ["home"]


def _location(environ: Mapping[str, str]) -> tuple[Path, str]:
    if environ.get("IMAGEBOT_HOME"):
        return Path(environ["IMAGEBOT_HOME"]), "$IMAGEBOT_HOME"
    if environ.get("XDG_STATE_HOME"):
        return Path(environ["XDG_STATE_HOME"]) / "imagebot", "$XDG_STATE_HOME/imagebot"
    try:
        user_home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    except RuntimeError:  # no $HOME and no passwd entry (a container run with an arbitrary uid)
        raise ConfigError(
            "no home directory to keep imagebot's state in: set IMAGEBOT_HOME to a writable directory "
            "(or pass --state and --workdir)"
        ) from None
    return user_home / ".local" / "state" / "imagebot", "~/.local/state/imagebot"


def home(environ: Mapping[str, str] | None = None) -> Path:
    """imagebot's home directory, created if missing; a clear ``ConfigError`` when it is unwritable.

    >>> home({"IMAGEBOT_HOME": "/var/lib/imagebot"})  # doctest: +SKIP
    PosixPath('/var/lib/imagebot')
    """
    path, origin = _location(os.environ if environ is None else environ)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError("permission denied")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"imagebot's home {path} ({origin}) is not writable: {reason.lower()}; set IMAGEBOT_HOME "
            "to a writable directory (or pass --state and --workdir)"
        ) from None
    return path
