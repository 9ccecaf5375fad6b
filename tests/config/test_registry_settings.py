"""``imagebot.dev/v1alpha1`` ``RegistrySettings``: mirrors, insecure hosts, limits.

Aspects under test:
* defaults when no RegistrySettings object exists;
* mirrors (order kept, trailing slash dropped), insecure hosts, maxConnectionsPerRegistry,
  requestDeadline, maxTags;
* several RegistrySettings documents add up (mirrors per host replaced, insecure hosts unioned);
* invalid settings (endpoint scheme, empty mirror list, non-positive limits, bad apiVersion)
  name file, document and key path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import config
from imagebot.errors import ConfigError
from imagebot.model.registries import RegistrySettings
from tests.config.documents import REPOSITORY, WriteFile

Load = Callable[[str], config.Config]


def _settings(spec: str, api_version: str = "imagebot.dev/v1alpha1") -> str:
    return f"apiVersion: {api_version}\nkind: RegistrySettings\nmetadata: {{name: registries}}\nspec:\n{spec}\n"


def test_defaults_without_a_settings_object(load_yaml: Load) -> None:
    assert load_yaml(REPOSITORY).registries == RegistrySettings()


def test_every_field(load_yaml: Load) -> None:
    loaded = load_yaml(
        _settings(
            "  mirrors:\n"
            "    docker.io: ['http://127.0.0.1:5000/', 'https://mirror.gcr.io']\n"
            "    ghcr.io: ['https://ghcr-cache.internal:8443']\n"
            "  insecure: [registry.lab:5000, 10.0.0.5]\n"
            "  maxConnectionsPerRegistry: 3\n"
            "  requestDeadline: 1m30s\n"
            "  maxTags: 5000\n"
        )
    )
    assert loaded.registries == RegistrySettings(
        mirrors={
            "docker.io": ("http://127.0.0.1:5000", "https://mirror.gcr.io"),
            "ghcr.io": ("https://ghcr-cache.internal:8443",),
        },
        insecure=frozenset({"registry.lab:5000", "10.0.0.5"}),
        max_connections_per_registry=3,
        request_deadline=90.0,
        max_tags=5000,
    )


def test_settings_documents_add_up(load_yaml: Load) -> None:
    loaded = load_yaml(
        _settings("  mirrors: {docker.io: ['http://a:5000'], quay.io: ['http://q:5000']}\n  insecure: [a:5000]")
        + "---\n"
        + _settings("  mirrors: {docker.io: ['http://b:5000']}\n  insecure: [b:5000]")
    )
    assert loaded.registries.mirrors == {"docker.io": ("http://b:5000",), "quay.io": ("http://q:5000",)}
    assert loaded.registries.insecure == frozenset({"a:5000", "b:5000"})
    assert loaded.registries.max_connections_per_registry == RegistrySettings().max_connections_per_registry


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("  mirrors: {docker.io: ['mirror.local:5000']}",
                     "spec.mirrors.docker.io: endpoint 'mirror.local:5000' must start with http:// or https://",
                     id="endpoint-without-scheme"),
        pytest.param("  mirrors: {docker.io: ['ftp://mirror.local']}",
                     "spec.mirrors.docker.io: endpoint 'ftp://mirror.local' must start with http:// or https://",
                     id="endpoint-ftp"),
        pytest.param("  mirrors: {docker.io: []}",
                     "spec.mirrors.docker.io: expected a non-empty list of endpoint URLs", id="empty-mirror-list"),
        pytest.param("  mirrors: {docker.io: 'http://mirror'}",
                     "spec.mirrors.docker.io: expected a list of strings", id="mirror-not-a-list"),
        pytest.param("  mirrors: ['http://mirror']", "spec.mirrors: expected a mapping, got a list",
                     id="mirrors-not-a-mapping"),
        pytest.param("  insecure: registry.lab", "spec.insecure: expected a list of strings", id="insecure-string"),
        pytest.param("  maxConnectionsPerRegistry: 0", "spec.maxConnectionsPerRegistry: expected a positive integer",
                     id="zero-connections"),
        pytest.param("  maxConnectionsPerRegistry: '4'",
                     "spec.maxConnectionsPerRegistry: expected a positive integer", id="connections-string"),
        pytest.param("  maxConnectionsPerRegistry: true",
                     "spec.maxConnectionsPerRegistry: expected a positive integer", id="connections-boolean"),
        pytest.param("  maxTags: -1", "spec.maxTags: expected a positive integer", id="negative-max-tags"),
        pytest.param("  maxTags: 1e6", "spec.maxTags: expected a positive integer", id="max-tags-float"),
        pytest.param("  requestDeadline: forever", "spec.requestDeadline: 'forever' is not a duration",
                     id="bad-deadline"),
    ],
)
def test_invalid_settings(write: WriteFile, policies: Path, spec: str, message: str) -> None:
    path = write("registries.yaml", REPOSITORY + "---\n" + _settings(spec))
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    assert str(exc.value).startswith(f"{path} (document 2): {message}")


def test_settings_need_a_spec(write: WriteFile, policies: Path) -> None:
    path = write("registries.yaml", "apiVersion: imagebot.dev/v1alpha1\nkind: RegistrySettings\n")
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    assert str(exc.value) == f"{path} (document 1): spec: is required"


def test_unsupported_settings_version(write: WriteFile, policies: Path) -> None:
    path = write("registries.yaml", _settings("  insecure: []", api_version="imagebot.dev/v1"))
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    assert str(exc.value) == (
        f"{path} (document 1): apiVersion: unsupported imagebot.dev/v1; supported: imagebot.dev/v1alpha1"
    )
