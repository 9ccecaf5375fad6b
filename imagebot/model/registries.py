"""Registry-wide settings and credentials, resolved by config and used by scan.

``RegistrySettings`` comes from an ``imagebot.dev/v1alpha1`` ``RegistrySettings`` object (or flags);
``Credential`` from :mod:`imagebot.config`'s keychain. Secrets never appear in ``repr``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

__all__ = ["Credential", "RegistrySettings", "TLSMaterial"]


@dataclasses.dataclass(frozen=True, slots=True)
class RegistrySettings:
    mirrors: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    """Canonical registry host → mirror endpoints (``http://host:port`` or ``https://…``), tried
    in order; manifests keep the canonical names. Like containerd's ``hosts.toml``."""
    insecure: frozenset[str] = frozenset()
    """Hosts reached over plain HTTP (in addition to ``ImageRepository.spec.insecure``)."""
    max_connections_per_registry: int = 8
    """Concurrent requests to one registry host."""
    request_deadline: float = 60.0
    """Overall seconds for one request with its retries and auth round trips, body included (a
    slow-dripping body cannot hang a run, nor can retries stretch it)."""
    http2: bool = False
    """Negotiate HTTP/2 over TLS (HTTP/1.1 is the default: some corporate proxies mishandle h2)."""
    max_tags: int = 100_000
    """A repository listing more tags than this fails instead of being truncated."""


@dataclasses.dataclass(frozen=True, slots=True)
class Credential:
    """What to present to one registry. Exactly one of password / identity / registry token."""

    username: str = ""
    password: str = dataclasses.field(default="", repr=False)
    identity_token: str = dataclasses.field(default="", repr=False)
    """An OAuth2 refresh token (config.json ``identitytoken``; helper username ``<token>``)."""
    registry_token: str = dataclasses.field(default="", repr=False)
    """A bearer token sent to the registry as-is."""
    origin: str = ""
    """Where it came from (``secret regcred``, ``~/.docker/config.json``), for messages."""

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.identity_token, self.registry_token) if s)


@dataclasses.dataclass(frozen=True, slots=True)
class TLSMaterial:
    """PEM text from a ``certSecretRef``: a CA bundle and an optional client certificate."""

    ca_pem: str | None = None
    cert_pem: str | None = dataclasses.field(default=None, repr=False)
    key_pem: str | None = dataclasses.field(default=None, repr=False)
