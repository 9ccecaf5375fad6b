"""Configuration: Flux/Argo objects from ``policies/``, secrets, and registry credentials.

The only place that reads configuration files, secrets and credential environment variables.
Callers: the CLI commands (and later the scheduler); stages receive model types, never dicts.

Names are imported from their modules on first use (PEP 562): the CLI's option defaults
(``DEFAULT_SECRETS_DIR``, the shard variables) must not cost the YAML loader, pygit2 and the
rest at start-up (``imagebot plan --help``; ``tests/test_imports.py``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imagebot.config._action import MODES, ActionEnvironment, action_environment
    from imagebot.config._argo import parse_generated_application
    from imagebot.config._ci import in_github_actions
    from imagebot.config._fields import parse_duration
    from imagebot.config._gitsecrets import forge_credentials, git_auth, signing_key
    from imagebot.config._home import home
    from imagebot.config._keychain import Keychain
    from imagebot.config._loader import Config, inspect, load, locate, located, origin
    from imagebot.config._secrets import DEFAULT_SECRETS_DIR, SecretStore, secret_env_name
    from imagebot.config._shard import (
        SHARD_COUNT_VARIABLE,
        SHARD_INDEX_VARIABLE,
        parse_shard,
        shard_from_environment,
    )

__all__ = [
    "DEFAULT_SECRETS_DIR",
    "MODES",
    "SHARD_COUNT_VARIABLE",
    "SHARD_INDEX_VARIABLE",
    "ActionEnvironment",
    "Config",
    "Keychain",
    "SecretStore",
    "action_environment",
    "forge_credentials",
    "git_auth",
    "home",
    "in_github_actions",
    "inspect",
    "load",
    "locate",
    "located",
    "origin",
    "parse_duration",
    "parse_generated_application",
    "parse_shard",
    "secret_env_name",
    "shard_from_environment",
    "signing_key",
]

_HOMES = {
    "_action": ("MODES", "ActionEnvironment", "action_environment"),
    "_argo": ("parse_generated_application",),
    "_ci": ("in_github_actions",),
    "_fields": ("parse_duration",),
    "_gitsecrets": ("forge_credentials", "git_auth", "signing_key"),
    "_home": ("home",),
    "_keychain": ("Keychain",),
    "_loader": ("Config", "inspect", "load", "locate", "located", "origin"),
    "_secrets": ("DEFAULT_SECRETS_DIR", "SecretStore", "secret_env_name"),
    "_shard": ("SHARD_COUNT_VARIABLE", "SHARD_INDEX_VARIABLE", "parse_shard", "shard_from_environment"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next look-up is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
