"""Fixtures for the publish tests: the local GitHub server and a GitHub App key pair; the git
layer's real remotes (hermetic git config, ``genv``, ``remote``) for publish's own Git work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.github import FakeGitHub
from tests.git.conftest import (  # noqa: F401 - fixtures shared with the git layer's tests
    genv,
    http_server,
    isolated_git_config,
    make_remote,
    remote,
    transport,
)


@pytest.fixture(scope="session")
def app_key() -> tuple[str, str]:
    """(private PEM, public PEM) of a locally generated GitHub App key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture
def github_server(app_key: tuple[str, str]) -> Iterator[FakeGitHub]:
    server = FakeGitHub(app_public_key=app_key[1]).start()
    yield server
    server.stop()
