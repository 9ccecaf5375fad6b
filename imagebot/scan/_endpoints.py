"""Where to reach a registry: canonical API hosts, plain-HTTP rules and mirrors.

Used by :mod:`imagebot.scan._scanner`. Docker Hub's API lives at ``registry-1.docker.io``;
loopback hosts and hosts marked insecure use plain HTTP; configured mirrors are tried before the
canonical host, as containerd's ``hosts.toml`` does, while image names stay canonical.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from imagebot.model.images import DOCKER_HUB, ImageRepo

__all__ = ["Target", "host_of", "targets"]


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_of(url: str) -> str:
    return urlsplit(url).netloc


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    base_url: str
    credential_host: str
    """The host whose credentials apply: the mirror's own, or the canonical registry's."""
    mirror: bool


def targets(
    image: ImageRepo, *, insecure: bool, mirrors: Mapping[str, tuple[str, ...]],
    insecure_hosts: frozenset[str] = frozenset(), custom_tls: bool = False,
) -> list[Target]:
    """Endpoints to try in order for ``image``: its mirrors, then the registry itself.

    Loopback registries default to plain HTTP (as Docker and Flux do) unless a custom CA or
    client certificate is configured for them, which only makes sense over HTTPS.
    """
    found = [Target(url, host_of(url), mirror=True) for url in mirrors.get(image.registry, ())]
    if image.registry == DOCKER_HUB:
        found.append(Target("https://registry-1.docker.io", DOCKER_HUB, mirror=False))
    else:
        plain = insecure or image.registry in insecure_hosts or (
            _is_loopback(image.registry) and not custom_tls
        )
        scheme = "http" if plain else "https"
        found.append(Target(f"{scheme}://{image.registry}", image.registry, mirror=False))
    return found
