"""Configuration: Flux/Argo objects from ``policies/``, secrets, and registry credentials.

The only place that reads configuration files, secrets and credential environment variables.
Callers: the CLI commands (and later the scheduler); stages receive model types, never dicts.
"""

from imagebot.config._action import MODES, ActionEnvironment, action_environment
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
    "parse_shard",
    "secret_env_name",
    "shard_from_environment",
    "signing_key",
]
