"""Which kubeconfig context a sync unit goes to, from its destination ``server`` or ``name``.

Argo CD names a cluster by API server URL (``https://kubernetes.default.svc`` is the cluster it
runs in) or by name. Here ``name`` is a kubeconfig context, ``server`` the context whose cluster
has that URL, and the in-cluster URL the current context. ``--context`` overrides all of them.
Called by :mod:`imagebot.sync._cluster`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imagebot import yamldoc
from imagebot.errors import ConfigError

__all__ = ["context_for", "default_kubeconfig", "read_kubeconfig"]

IN_CLUSTER = "https://kubernetes.default.svc"


def default_kubeconfig() -> Path | None:
    """``$KUBECONFIG`` (its first file) or ``~/.kube/config`` when it exists."""
    env = os.environ.get("KUBECONFIG", "")
    for part in env.split(os.pathsep):
        if part and Path(part).is_file():
            return Path(part)
    home = Path.home() / ".kube" / "config"
    return home if home.is_file() else None


def read_kubeconfig(path: Path) -> Mapping[str, Any]:
    try:
        [document] = yamldoc.load_all_plain(path.read_text(encoding="utf-8")) or [None]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"kubeconfig {path}: cannot read: {exc}") from None
    if not isinstance(document, Mapping):
        raise ConfigError(f"kubeconfig {path}: not a kubeconfig")
    return document


def context_for(kubeconfig: Mapping[str, Any], *, server: str, name: str | None, unit: str) -> str | None:
    """The context for a destination; ``None`` means the current context."""
    contexts = {str(c.get("name")): c.get("context") or {} for c in kubeconfig.get("contexts") or []}
    if name:
        if name not in contexts:
            known = ", ".join(sorted(contexts)) or "none"
            raise ConfigError(
                f"{unit}: destination name {name!r} is not a kubeconfig context (known: {known})"
            )
        return name
    if not server or server.rstrip("/") == IN_CLUSTER:
        return None
    servers = {str(c.get("name")): str((c.get("cluster") or {}).get("server", "")).rstrip("/")
               for c in kubeconfig.get("clusters") or []}
    for context_name, context in sorted(contexts.items()):
        if servers.get(str(context.get("cluster"))) == server.rstrip("/"):
            return context_name
    raise ConfigError(f"{unit}: no kubeconfig context for destination server {server}")
