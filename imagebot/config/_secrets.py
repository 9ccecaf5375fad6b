"""Kubernetes-style secrets without a cluster: a mounted secrets directory, then the environment.

``SecretStore.get("regcred", ".dockerconfigjson")`` reads ``<dir>/regcred/.dockerconfigjson``
(the layout of a Secret volume), else the variable ``IMAGEBOT_SECRET_REGCRED_DOCKERCONFIGJSON``
(upper case, leading dots dropped, other non-alphanumerics as ``_``). Used by the keychain and by
``certSecretRef`` resolution; the only place secrets are read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from imagebot.errors import ConfigError

if TYPE_CHECKING:  # the CLI reads DEFAULT_SECRETS_DIR for its --help; the models come with use
    from imagebot.model.flux import ImageRepository
    from imagebot.model.ids import ObjectKey
    from imagebot.model.registries import TLSMaterial

__all__ = ["DEFAULT_SECRETS_DIR", "SecretStore", "secret_env_name"]

DEFAULT_SECRETS_DIR = Path("/var/run/secrets/imagebot")


def secret_env_name(name: str, key: str) -> str:
    def norm(part: str) -> str:
        return re.sub(r"[^A-Za-z0-9]", "_", part.lstrip(".")).upper()

    return f"IMAGEBOT_SECRET_{norm(name)}_{norm(key)}"


class SecretStore:
    def __init__(self, directory: Path | None, environ: Mapping[str, str] | None = None) -> None:
        self.directory = directory
        self._environ = os.environ if environ is None else environ

    def get(self, name: str, key: str) -> str | None:
        # a name or key must not lead out of <dir>/<name>/ ("..", "a/b")
        if self.directory is not None and not any("/" in p or p in ("", ".", "..") for p in (name, key)):
            path = self.directory / name / key
            if path.is_file():
                return path.read_text(encoding="utf-8")
        return self._environ.get(secret_env_name(name, key))

    def describe(self, name: str, key: str) -> str:
        where = f"{self.directory / name / key} or " if self.directory else ""
        return f"{where}${secret_env_name(name, key)}"

    def tls_for(self, repositories: Iterable[ImageRepository]) -> dict[ObjectKey, TLSMaterial]:
        """The ``certSecretRef`` material of each repository that has one; errors name the object."""
        found: dict[ObjectKey, TLSMaterial] = {}
        for repo in repositories:
            if repo.cert_secret_ref is None:
                continue
            try:
                found[repo.key] = self.tls(repo.cert_secret_ref)
            except ConfigError as exc:
                raise ConfigError(
                    f"{repo.source}: ImageRepository {repo.key}: spec.certSecretRef: {exc}"
                ) from None
        return found

    def tls(self, name: str) -> TLSMaterial:
        """``ca.crt`` and/or ``tls.crt`` + ``tls.key`` of a ``certSecretRef`` (Flux's layout)."""
        ca = self.get(name, "ca.crt") or self.get(name, "caFile")
        cert = self.get(name, "tls.crt") or self.get(name, "certFile")
        key = self.get(name, "tls.key") or self.get(name, "keyFile")
        if ca is None and cert is None:
            raise ConfigError(
                f"secret {name!r} has no ca.crt or tls.crt: expected {self.describe(name, 'ca.crt')}"
            )
        if (cert is None) != (key is None):
            raise ConfigError(f"secret {name!r} needs both tls.crt and tls.key for a client certificate")
        from imagebot.model.registries import TLSMaterial

        return TLSMaterial(ca_pem=ca, cert_pem=cert, key_pem=key)
