"""Registry credentials: which user/secret to present to a registry host.

Lookup order (first match wins; documented in README "Credentials"):

1. the ImageRepository's ``secretRef`` (a ``.dockerconfigjson`` from the secret store);
2. environment: ``IMAGEBOT_REGISTRY_<HOST>_USERNAME`` / ``_PASSWORD``, ``GITHUB_TOKEN`` for
   ``ghcr.io``, ``DOCKERHUB_USERNAME`` / ``DOCKERHUB_TOKEN`` for Docker Hub;
3. ``DOCKER_AUTH_CONFIG`` (a JSON document with ``auths``);
4. ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``: ``credHelpers[host]``, then
   ``credsStore``, then ``auths`` (helpers run without a shell, with a timeout);
5. anonymous.

Called by the scan command, which hands ``Keychain.lookup`` to :mod:`imagebot.scan`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from imagebot.config._secrets import SecretStore
from imagebot.errors import ConfigError
from imagebot.model.registries import Credential

__all__ = ["HelperRunner", "Keychain", "parse_docker_config"]

logger = logging.getLogger("imagebot.config")

HelperRunner = Callable[[str, str], "tuple[int, str]"]
"""``(program, stdin) -> (exit code, stdout)``; a seam for tests of the helper protocol."""

_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
_HELPER_TIMEOUT = 10.0


def _run_helper(program: str, server: str) -> tuple[int, str]:
    try:
        done = subprocess.run(
            [program, "get"], input=server + "\n", capture_output=True, text=True,  # as docker sends it
            timeout=_HELPER_TIMEOUT, check=False,
        )
    except FileNotFoundError:
        return 127, ""
    except subprocess.TimeoutExpired:
        return 124, ""
    return done.returncode, done.stdout


def _host_of_key(key: str) -> str:
    key = re.sub(r"^[a-z]+://", "", key)
    return key.split("/", 1)[0]


def _decode_auth(value: str, origin: str) -> tuple[str, str] | None:
    try:
        text = base64.b64decode(value + "=" * (-len(value) % 4)).decode("utf-8").rstrip("\0")
    except (binascii.Error, UnicodeDecodeError):
        logger.warning("ignoring an invalid auth entry in %s (not base64)", origin)
        return None
    user, sep, password = text.partition(":")
    if not sep or not user:
        logger.warning("ignoring an invalid auth entry in %s (no user:password)", origin)
        return None
    return user, password


def _entry_credential(entry: Mapping[str, Any], origin: str) -> Credential | None:
    if entry.get("registrytoken"):
        return Credential(registry_token=str(entry["registrytoken"]), origin=origin)
    if entry.get("identitytoken"):
        user = str(entry.get("username") or "<token>")
        return Credential(username=user, identity_token=str(entry["identitytoken"]), origin=origin)
    if entry.get("auth"):
        pair = _decode_auth(str(entry["auth"]), origin)
        if pair is not None:
            return Credential(username=pair[0], password=pair[1], origin=origin)
    if entry.get("username") and entry.get("password"):
        return Credential(
            username=str(entry["username"]), password=str(entry["password"]), origin=origin
        )
    return None


def parse_docker_config(text: str, origin: str) -> Mapping[str, Any]:
    """Parse a config.json / .dockerconfigjson; the error never quotes the content."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{origin}: not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a JSON object")
    return data


def _candidate_keys(host: str, path: str) -> list[str]:
    hosts = list(_HUB_KEYS) if host == "docker.io" else [host]
    # a key naming the repository (gcr.io/my-project) is more specific than the bare host
    specific = [f"{h}/{path}" for h in hosts] + [
        f"{h}/{'/'.join(path.split('/')[:i])}" for h in hosts for i in range(path.count("/"), 0, -1)
    ]
    return specific + hosts


def _lookup_auths(
    auths: object, host: str, path: str, origin: str
) -> Credential | None:
    if not isinstance(auths, Mapping):
        return None
    normalised: dict[str, Mapping[str, Any]] = {}
    entries = [(str(key), entry) for key, entry in auths.items() if isinstance(entry, Mapping)]
    for key, value in entries:
        normalised.setdefault(re.sub(r"^[a-z]+://", "", key).rstrip("/"), value)
        normalised.setdefault(key, value)
    for key, value in entries:  # a key's host (as docker CLI) only where no key names that host itself
        normalised.setdefault(_host_of_key(key), value)
    for candidate in _candidate_keys(host, path):
        entry = normalised.get(candidate) or normalised.get(candidate.rstrip("/"))
        if entry is not None:
            credential = _entry_credential(entry, origin)
            if credential is not None:
                return credential
    return None


class Keychain:
    """Resolves a :class:`Credential` for a registry host; results are cached per run."""

    def __init__(
        self,
        secrets: SecretStore,
        *,
        environ: Mapping[str, str] | None = None,
        run_helper: HelperRunner = _run_helper,
    ) -> None:
        self._secrets = secrets
        self._environ = os.environ if environ is None else environ
        self._run_helper = run_helper
        self._helper_cache: dict[tuple[str, str], Credential | None] = {}

    def lookup(self, host: str, path: str, secret_ref: str | None = None) -> Credential | None:
        if secret_ref is not None:
            found = self._from_secret(secret_ref, host, path)
            if found is not None:
                return found
        return (
            self._from_env(host)
            or self._from_env_auth_config(host, path)
            or self._from_docker_config(host, path)
        )

    def _from_secret(self, name: str, host: str, path: str) -> Credential | None:
        text = self._secrets.get(name, ".dockerconfigjson")
        if text is None:
            text = self._secrets.get(name, ".dockercfg")
            if text is None:
                raise ConfigError(
                    f"secret {name!r} not found: expected {self._secrets.describe(name, '.dockerconfigjson')}"
                )
            return _lookup_auths(parse_docker_config(text, f"secret {name}"), host, path, f"secret {name}")
        data = parse_docker_config(text, f"secret {name}")
        found = _lookup_auths(data.get("auths"), host, path, f"secret {name}")
        if found is None:
            logger.warning("secret %s has no credentials for %s; trying other sources", name, host)
        return found

    def _from_env(self, host: str) -> Credential | None:
        norm = re.sub(r"[^A-Za-z0-9]", "_", host).upper()
        user = self._environ.get(f"IMAGEBOT_REGISTRY_{norm}_USERNAME")
        password = self._environ.get(f"IMAGEBOT_REGISTRY_{norm}_PASSWORD")
        if user and password:
            return Credential(username=user, password=password, origin=f"$IMAGEBOT_REGISTRY_{norm}_*")
        if host == "ghcr.io" and self._environ.get("GITHUB_TOKEN"):
            user = self._environ.get("GITHUB_ACTOR") or "x-access-token"
            return Credential(username=user, password=self._environ["GITHUB_TOKEN"], origin="$GITHUB_TOKEN")
        if host == "docker.io" and self._environ.get("DOCKERHUB_TOKEN"):
            user = self._environ.get("DOCKERHUB_USERNAME", "")
            if user:
                return Credential(
                    username=user, password=self._environ["DOCKERHUB_TOKEN"], origin="$DOCKERHUB_TOKEN"
                )
        return None

    def _from_env_auth_config(self, host: str, path: str) -> Credential | None:
        text = self._environ.get("DOCKER_AUTH_CONFIG")
        if not text:
            return None
        data = parse_docker_config(text, "$DOCKER_AUTH_CONFIG")
        return _lookup_auths(data.get("auths"), host, path, "$DOCKER_AUTH_CONFIG")

    def _docker_config_path(self) -> Path:
        directory = self._environ.get("DOCKER_CONFIG")
        if directory:
            return Path(directory) / "config.json"
        return Path(self._environ.get("HOME", str(Path.home()))) / ".docker" / "config.json"

    def _from_docker_config(self, host: str, path: str) -> Credential | None:
        config_path = self._docker_config_path()
        if not config_path.is_file():
            return None
        data = parse_docker_config(config_path.read_text(encoding="utf-8"), str(config_path))
        helpers = data.get("credHelpers")
        helpers = helpers if isinstance(helpers, Mapping) else {}
        keys = _HUB_KEYS if host == "docker.io" else (host,)  # docker CLI keys Hub by its index URL
        helper = next((helpers[k] for k in keys if helpers.get(k)), None)
        helper = helper or data.get("credsStore")
        if isinstance(helper, str) and helper:
            found = self._from_helper(helper, host)
            if found is not None:
                return found
        return _lookup_auths(data.get("auths"), host, path, str(config_path))

    def _from_helper(self, suffix: str, host: str) -> Credential | None:
        server = "https://index.docker.io/v1/" if host == "docker.io" else host
        cache_key = (suffix, server)
        if cache_key in self._helper_cache:
            return self._helper_cache[cache_key]
        program = f"docker-credential-{suffix}"
        code, out = self._run_helper(program, server)
        credential: Credential | None = None
        if code == 0:
            try:
                answer = json.loads(out)
                user, secret = str(answer["Username"]), str(answer["Secret"])
            except (json.JSONDecodeError, KeyError, TypeError):
                # never log the output: it may hold the secret
                logger.warning("%s returned an unreadable answer for %s", program, server)
            else:
                origin = f"credential helper {program}"
                credential = (
                    Credential(username=user, identity_token=secret, origin=origin)
                    if user == "<token>"
                    else Credential(username=user, password=secret, origin=origin)
                )
        elif "not found" not in out:
            reason = {127: "not installed", 124: "timed out"}.get(code, f"exit status {code}")
            logger.warning("%s failed for %s (%s); trying other sources", program, server, reason)
        self._helper_cache[cache_key] = credential
        return credential
