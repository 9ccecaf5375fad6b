"""Registry credentials and the files a scanner reads them from.

``Credentials`` is a user/password pair. The writers produce the two layouts imagebot reads:
a Kubernetes ``dockerconfigjson`` secret volume (``<dir>/<secret>/.dockerconfigjson``, what a
Flux ``secretRef`` names) and a Docker client config (``$DOCKER_CONFIG/config.json``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

__all__ = ["Credentials", "docker_config", "write_docker_config", "write_secret"]


class Credentials(NamedTuple):
    username: str
    password: str

    @property
    def auth(self) -> str:
        """The ``auth`` field of a Docker config: base64 of ``user:password``."""
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def docker_config(auths: Mapping[str, Credentials]) -> dict[str, object]:
    """``{"auths": {host: {"auth": ...}}}`` for each registry host (``127.0.0.1:PORT``)."""
    return {"auths": {host: {"auth": creds.auth} for host, creds in auths.items()}}


def write_secret(
    secrets_dir: Path, auths: Mapping[str, Credentials], name: str = "regcred"
) -> Path:
    """Write ``secrets_dir/name/.dockerconfigjson`` and return the file's path."""
    path = secrets_dir / name / ".dockerconfigjson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(docker_config(auths)))
    return path


def write_docker_config(config_dir: Path, auths: Mapping[str, Credentials]) -> Path:
    """Write ``config_dir/config.json`` (point ``DOCKER_CONFIG`` at ``config_dir``)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "config.json"
    path.write_text(json.dumps(docker_config(auths)))
    return path
