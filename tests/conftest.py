"""Fixtures shared by every test: a clean environment (no ambient credentials or config)."""

from __future__ import annotations

import os

import hypothesis
import pytest

# the real Kubernetes control plane: kube_cluster, kubeconfig, kube_namespace (docs/testing.md)
pytest_plugins = ["testing.kube"]

_AMBIENT = ("GITHUB_TOKEN", "GITHUB_ACTIONS", "KUBECONFIG", "DOCKER_CONFIG", "DOCKER_AUTH_CONFIG",
            "REGISTRY_AUTH_FILE", "XDG_STATE_HOME",
            "JOB_COMPLETION_INDEX", "IMAGEBOT_SHARD_COUNT")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in list(os.environ):
        if name.startswith(("IMAGEBOT_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")) or name in _AMBIENT:
            monkeypatch.delenv(name)
        if name.lower() in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}:
            monkeypatch.delenv(name)
    # no ~/.docker/config.json of the machine may leak into a test
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))


# Hypothesis's default 200 ms deadline per example fails property tests on a loaded machine
# (seen on the 2-core CI machine with other work running); tests never time things.
hypothesis.settings.register_profile("imagebot", deadline=None)
hypothesis.settings.load_profile("imagebot")
