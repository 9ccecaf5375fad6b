"""``SecretStore``: Kubernetes-style secrets without a cluster.

Precedence (asserted here, documented in the module and the CLI help): the mounted secrets directory
``<dir>/<name>/<key>`` first, then the environment variable ``IMAGEBOT_SECRET_<NAME>_<KEY>``.

Aspects under test:
* directory first, environment second, ``None`` when neither has the key;
* a real Secret-volume layout (``..data`` symlinks) is read;
* the variable name: upper case, leading dots dropped, other non-alphanumerics as ``_``;
* names and keys that would leave the directory are never read from it;
* ``tls()`` for a ``certSecretRef``: CA only, client cert + key, both, legacy keys, and the
  incomplete combinations, whose messages say where the secret was looked for but never its content.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagebot import config
from imagebot.errors import ConfigError
from imagebot.model.registries import TLSMaterial

CA = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBclient\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQsecretkey\n-----END PRIVATE KEY-----\n"


def put(directory: Path, name: str, key: str, value: str) -> None:
    (directory / name).mkdir(parents=True, exist_ok=True)
    (directory / name / key).write_text(value)


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir()
    return directory


@pytest.mark.parametrize(
    ("name", "key", "variable"),
    [
        pytest.param("regcred", ".dockerconfigjson", "IMAGEBOT_SECRET_REGCRED_DOCKERCONFIGJSON", id="dockerconfigjson"),
        pytest.param("registry-ca", "ca.crt", "IMAGEBOT_SECRET_REGISTRY_CA_CA_CRT", id="ca"),
        pytest.param("my.tls", "tls.key", "IMAGEBOT_SECRET_MY_TLS_TLS_KEY", id="dots-in-name"),
        pytest.param("Ghcr", "password", "IMAGEBOT_SECRET_GHCR_PASSWORD", id="mixed-case"),
    ],
)
def test_env_variable_names(name: str, key: str, variable: str) -> None:
    assert config.secret_env_name(name, key) == variable


def test_directory_wins_over_environment(secrets_dir: Path) -> None:
    put(secrets_dir, "regcred", ".dockerconfigjson", "from-dir")
    store = config.SecretStore(secrets_dir, {"IMAGEBOT_SECRET_REGCRED_DOCKERCONFIGJSON": "from-env"})
    assert store.get("regcred", ".dockerconfigjson") == "from-dir"


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(None, id="no-directory-configured"),
        pytest.param("missing-dir", id="directory-does-not-exist"),
        pytest.param("other-secret", id="secret-not-in-directory"),
        pytest.param("other-key", id="key-not-in-secret"),
    ],
)
def test_environment_is_the_fallback(secrets_dir: Path, layout: str | None) -> None:
    directory: Path | None = secrets_dir
    if layout is None:
        directory = None
    elif layout == "missing-dir":
        directory = secrets_dir / "nowhere"
    elif layout == "other-secret":
        put(secrets_dir, "other", ".dockerconfigjson", "x")
    else:
        put(secrets_dir, "regcred", ".dockercfg", "x")
    store = config.SecretStore(directory, {"IMAGEBOT_SECRET_REGCRED_DOCKERCONFIGJSON": "from-env"})
    assert store.get("regcred", ".dockerconfigjson") == "from-env"


def test_missing_everywhere_is_none(secrets_dir: Path) -> None:
    assert config.SecretStore(secrets_dir, {}).get("regcred", ".dockerconfigjson") is None


def test_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGEBOT_SECRET_TOKEN_VALUE", "s3cr3t")
    assert config.SecretStore(None).get("token", "value") == "s3cr3t"


def test_kubernetes_secret_volume_with_data_symlinks(secrets_dir: Path) -> None:
    # what the kubelet mounts: <dir>/<secret>/<key> -> ..data/<key> -> ..2026_01_01/<key>
    volume = secrets_dir / "regcred"
    (volume / "..2026_01_01").mkdir(parents=True)
    (volume / "..2026_01_01" / ".dockerconfigjson").write_text('{"auths": {}}')
    os.symlink("..2026_01_01", volume / "..data")
    os.symlink("..data/.dockerconfigjson", volume / ".dockerconfigjson")
    assert config.SecretStore(secrets_dir, {}).get("regcred", ".dockerconfigjson") == '{"auths": {}}'


@pytest.mark.parametrize(
    ("name", "key"),
    [
        pytest.param("..", "outside", id="dot-dot-name"),
        pytest.param("../secrets-sibling", "outside", id="slash-in-name"),
        pytest.param("regcred", "../../outside", id="slash-in-key"),
        pytest.param(".", "outside", id="dot-name"),
        pytest.param("", "outside", id="empty-name"),
    ],
)
def test_names_never_escape_the_directory(secrets_dir: Path, name: str, key: str) -> None:
    (secrets_dir.parent / "outside").write_text("not a secret of ours")
    (secrets_dir.parent / "secrets-sibling").mkdir()
    (secrets_dir.parent / "secrets-sibling" / "outside").write_text("not a secret of ours")
    put(secrets_dir, "regcred", "placeholder", "")
    (secrets_dir / "outside").write_text("not a secret of ours either")
    assert config.SecretStore(secrets_dir, {}).get(name, key) is None


def test_describe_names_path_and_variable(secrets_dir: Path) -> None:
    assert config.SecretStore(secrets_dir, {}).describe("regcred", ".dockerconfigjson") == (
        f"{secrets_dir}/regcred/.dockerconfigjson or $IMAGEBOT_SECRET_REGCRED_DOCKERCONFIGJSON"
    )
    assert config.SecretStore(None, {}).describe("regcred", "ca.crt") == "$IMAGEBOT_SECRET_REGCRED_CA_CRT"


# --- tls() --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        pytest.param({"ca.crt": CA}, TLSMaterial(ca_pem=CA), id="ca-only"),
        pytest.param({"tls.crt": CERT, "tls.key": KEY}, TLSMaterial(cert_pem=CERT, key_pem=KEY), id="client-cert"),
        pytest.param({"ca.crt": CA, "tls.crt": CERT, "tls.key": KEY}, TLSMaterial(CA, CERT, KEY), id="ca-and-client"),
        pytest.param({"caFile": CA, "certFile": CERT, "keyFile": KEY}, TLSMaterial(CA, CERT, KEY),
                     id="legacy-keys"),
        pytest.param({"ca.crt": CA, "caFile": "legacy"}, TLSMaterial(ca_pem=CA), id="new-key-beats-legacy"),
    ],
)
def test_tls_combinations(secrets_dir: Path, keys: dict[str, str], expected: TLSMaterial) -> None:
    for key, value in keys.items():
        put(secrets_dir, "registry-tls", key, value)
    assert config.SecretStore(secrets_dir, {}).tls("registry-tls") == expected


def test_tls_from_environment() -> None:
    environ = {"IMAGEBOT_SECRET_REGISTRY_TLS_CA_CRT": CA}
    assert config.SecretStore(None, environ).tls("registry-tls") == TLSMaterial(ca_pem=CA)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        pytest.param({}, "secret 'registry-tls' has no ca.crt or tls.crt: expected ", id="missing-secret"),
        pytest.param({"tls.key": KEY}, "secret 'registry-tls' has no ca.crt or tls.crt", id="key-only"),
        pytest.param({"tls.crt": CERT}, "secret 'registry-tls' needs both tls.crt and tls.key", id="cert-without-key"),
        pytest.param({"ca.crt": CA, "tls.key": KEY}, "secret 'registry-tls' needs both tls.crt and tls.key",
                     id="ca-and-key-without-cert"),
    ],
)
def test_tls_incomplete(secrets_dir: Path, keys: dict[str, str], message: str) -> None:
    for key, value in keys.items():
        put(secrets_dir, "registry-tls", key, value)
    with pytest.raises(ConfigError, match=message) as exc:
        config.SecretStore(secrets_dir, {}).tls("registry-tls")
    for pem in (CA, CERT, KEY):
        assert pem.splitlines()[1] not in str(exc.value)


def test_tls_missing_secret_says_where_it_was_looked_for(secrets_dir: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        config.SecretStore(secrets_dir, {}).tls("registry-tls")
    assert str(exc.value) == (
        f"secret 'registry-tls' has no ca.crt or tls.crt: expected {secrets_dir}/registry-tls/ca.crt "
        "or $IMAGEBOT_SECRET_REGISTRY_TLS_CA_CRT"
    )


def test_tls_material_repr_hides_the_client_key() -> None:
    text = repr(TLSMaterial(CA, CERT, KEY))
    assert "secretkey" not in text
    assert "MIIBclient" not in text
