"""Scanning a real TLS registry: custom CA via certSecretRef, untrusted CA, and https/http mix-ups.

The registry is Debian's docker-registry serving https with a throwaway CA (testing.certs).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from imagebot import cli
from testing.registry import RegistryServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path_factory.mktemp("registry-tls"), "htpasswd", tls=True) as registry:
        registry.push_tags("org/app", ["1.0.0", "1.1.0"])
        yield registry


def _config(tmp_path: Path, registry: RegistryServer, extra: str) -> Path:
    config = tmp_path / "policies"
    config.mkdir()
    (config / "repo.yaml").write_text(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
        "metadata: {name: app, namespace: apps}\n"
        f"spec:\n  image: {registry.host}/org/app\n  interval: 5m\n"
        f"  secretRef: {{name: regcred}}\n{extra}"
    )
    return config


def _scan(tmp_path: Path, config: Path, secrets: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["scan", "--config", str(config), "--secrets-dir", str(secrets),
                     "--state", str(tmp_path / "state.db"), "--digests", "none"])
    out, err = capsys.readouterr()
    return code, out, err


def test_custom_ca_from_cert_secret_ref(tmp_path: Path, tls_registry: RegistryServer,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    secrets = tmp_path / "secrets"
    tls_registry.write_secret(secrets)
    assert tls_registry.tls is not None
    (secrets / "registry-ca").mkdir()
    (secrets / "registry-ca" / "ca.crt").write_text(tls_registry.tls.ca_cert.read_text())
    config = _config(tmp_path, tls_registry, "  certSecretRef: {name: registry-ca}\n")
    code, out, err = _scan(tmp_path, config, secrets, capsys)
    assert code == 0, err
    assert "2 tags" in out


def test_untrusted_certificate_is_one_clear_line(tmp_path: Path, tls_registry: RegistryServer,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    secrets = tmp_path / "secrets"
    tls_registry.write_secret(secrets)
    # loopback hosts default to plain http; an https mirror URL makes the scan use TLS
    config = _config(tmp_path, tls_registry, "")
    (config / "settings.yaml").write_text(
        "apiVersion: imagebot.dev/v1alpha1\nkind: RegistrySettings\nmetadata: {name: r}\n"
        f"spec:\n  mirrors:\n    {tls_registry.host}: ['https://{tls_registry.host}']\n"
    )
    code, out, err = _scan(tmp_path, config, secrets, capsys)
    assert code == 1
    assert "TLS certificate not trusted" in out
    assert "set certSecretRef with the CA" in out
    assert "Traceback" not in err


def test_plain_http_to_the_tls_port_gets_a_hint(tmp_path: Path, tls_registry: RegistryServer,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    secrets = tmp_path / "secrets"
    tls_registry.write_secret(secrets)
    config = _config(tmp_path, tls_registry, "  insecure: true\n")
    code, out, _ = _scan(tmp_path, config, secrets, capsys)
    assert code == 1
    assert f"registry {tls_registry.host} speaks HTTPS; remove `insecure: true`" in out


def test_https_token_realm_on_another_port_names_the_realm_not_the_registry(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the registry and its token server share the private CA; certSecretRef trusts it for the
    # registry host only, so the token request fails closed, and the message must say where
    with RegistryServer(tmp_path / "registry", "token", tls=True, storage="inmemory") as registry:
        assert registry.tls is not None and registry.token_server is not None
        registry.push_tags("org/app", ["1.0.0"])
        secrets = tmp_path / "secrets"
        registry.write_secret(secrets)
        (secrets / "registry-ca").mkdir()
        (secrets / "registry-ca" / "ca.crt").write_text(registry.tls.ca_cert.read_text())
        config = _config(tmp_path, registry, "  certSecretRef: {name: registry-ca}\n")
        code, out, err = _scan(tmp_path, config, secrets, capsys)
        realm = registry.token_server.realm
    assert code == 1
    assert realm.startswith("https://127.0.0.1:") and realm in out
    assert "token server" in out and "TLS certificate not trusted" in out
    assert "set certSecretRef" not in out
    assert "Traceback" not in err
