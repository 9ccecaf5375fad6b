"""``Keychain.lookup``: which credential imagebot presents to a registry.

Documented order (first match wins): the ImageRepository's ``secretRef`` > environment variables
(``IMAGEBOT_REGISTRY_<HOST>_*``, ``GITHUB_TOKEN``, ``DOCKERHUB_*``) > ``DOCKER_AUTH_CONFIG`` >
docker config (``credHelpers[host]`` > ``credsStore`` > ``auths``) > anonymous.

Aspects under test:
* the order above, and falling through when a source has nothing for the host;
* ``auths`` keys: bare host, ``host:port``, URLs, Docker Hub's ``https://index.docker.io/v1/`` and
  aliases; repository-specific keys beat host keys whatever their order in the file;
* entries: ``auth`` (``:`` in the password, missing padding, trailing NULs), plain
  username/password, ``identitytoken``, ``registrytoken``; invalid entries skipped with a warning;
* credential helpers through the ``run_helper`` seam (server URL, ``<token>``, not found, failures,
  caching) and once through a real ``docker-credential-*`` executable on ``PATH`` (no shell);
* where the docker config is read (``DOCKER_CONFIG``, ``~/.docker``);
* secrets never appear in error messages, warnings or ``repr(Credential)``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from imagebot import config
from imagebot.errors import ConfigError
from imagebot.model.registries import Credential

NOT_FOUND = (1, "credentials not found in native keychain\n")


def b64(text: str, *, padding: bool = True) -> str:
    encoded = base64.b64encode(text.encode()).decode()
    return encoded if padding else encoded.rstrip("=")


def auths(entries: Mapping[str, object]) -> str:
    return json.dumps({"auths": entries})


def basic(user: str, password: str) -> dict[str, str]:
    return {"auth": b64(f"{user}:{password}")}


class Helpers:
    """The ``run_helper`` seam: answers per ``(program, server)``; everything else is "not found"."""

    def __init__(self, answers: Mapping[tuple[str, str], tuple[int, str]] | None = None) -> None:
        self.answers = dict(answers or {})
        self.calls: list[tuple[str, str]] = []

    def __call__(self, program: str, server: str) -> tuple[int, str]:
        self.calls.append((program, server))
        return self.answers.get((program, server), NOT_FOUND)


def answer(user: str, secret: str, server: str = "") -> tuple[int, str]:
    return 0, json.dumps({"ServerURL": server, "Username": user, "Secret": secret})


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir()
    return directory


@pytest.fixture
def docker_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "docker"
    directory.mkdir()
    return directory


def write_secret(secrets_dir: Path, text: str, name: str = "regcred", key: str = ".dockerconfigjson") -> None:
    (secrets_dir / name).mkdir(exist_ok=True)
    (secrets_dir / name / key).write_text(text)


def keychain(
    environ: Mapping[str, str] | None = None,
    *,
    secrets_dir: Path | None = None,
    helpers: Helpers | None = None,
) -> config.Keychain:
    environ = dict(environ or {})
    return config.Keychain(
        config.SecretStore(secrets_dir, environ), environ=environ, run_helper=helpers or Helpers()
    )


def with_docker_config(docker_dir: Path, data: Mapping[str, object]) -> dict[str, str]:
    (docker_dir / "config.json").write_text(json.dumps(data))
    return {"DOCKER_CONFIG": str(docker_dir)}


def lookup_in_auth_config(entries: Mapping[str, object], host: str, path: str = "org/app") -> Credential | None:
    return keychain({"DOCKER_AUTH_CONFIG": auths(entries)}).lookup(host, path)


# --- lookup order -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        pytest.param({"secret", "env", "auth-config", "docker-config"}, "from-secret", id="secret-ref-first"),
        pytest.param({"env", "auth-config", "docker-config"}, "from-env", id="env-second"),
        pytest.param({"auth-config", "docker-config"}, "from-auth-config", id="docker-auth-config-third"),
        pytest.param({"docker-config"}, "from-docker-config", id="docker-config-last"),
        pytest.param(set(), None, id="anonymous"),
    ],
)
def test_documented_lookup_order(
    secrets_dir: Path, docker_dir: Path, sources: set[str], expected: str | None
) -> None:
    environ: dict[str, str] = {}
    if "secret" in sources:
        write_secret(secrets_dir, auths({"ghcr.io": basic("from-secret", "pw1")}))
    if "env" in sources:
        environ |= {"IMAGEBOT_REGISTRY_GHCR_IO_USERNAME": "from-env", "IMAGEBOT_REGISTRY_GHCR_IO_PASSWORD": "pw2"}
    if "auth-config" in sources:
        environ["DOCKER_AUTH_CONFIG"] = auths({"ghcr.io": basic("from-auth-config", "pw3")})
    if "docker-config" in sources:
        environ |= with_docker_config(docker_dir, {"auths": {"ghcr.io": basic("from-docker-config", "pw4")}})
    secret_ref = "regcred" if "secret" in sources else None
    found = keychain(environ, secrets_dir=secrets_dir).lookup("ghcr.io", "org/app", secret_ref)
    assert (found.username if found else None) == expected


def test_origins_name_each_source(secrets_dir: Path, docker_dir: Path) -> None:
    write_secret(secrets_dir, auths({"ghcr.io": basic("u", "p")}))
    environ = with_docker_config(docker_dir, {"auths": {"quay.io": basic("u", "p")}})
    environ["DOCKER_AUTH_CONFIG"] = auths({"gcr.io": basic("u", "p")})
    chain = keychain(environ, secrets_dir=secrets_dir)
    assert chain.lookup("ghcr.io", "org/app", "regcred") == Credential("u", "p", origin="secret regcred")
    assert chain.lookup("gcr.io", "p/app") == Credential("u", "p", origin="$DOCKER_AUTH_CONFIG")
    assert chain.lookup("quay.io", "org/app") == Credential("u", "p", origin=str(docker_dir / "config.json"))


def test_secret_ref_without_entry_for_the_host_falls_through_with_a_warning(
    secrets_dir: Path, docker_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_secret(secrets_dir, auths({"quay.io": basic("quay", "pw")}))
    environ = with_docker_config(docker_dir, {"auths": {"ghcr.io": basic("docker", "pw")}})
    found = keychain(environ, secrets_dir=secrets_dir).lookup("ghcr.io", "org/app", "regcred")
    assert found is not None
    assert found.username == "docker"
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "secret regcred has no credentials for ghcr.io; trying other sources"
    ]


def test_missing_secret_ref_is_a_config_error(secrets_dir: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        keychain(secrets_dir=secrets_dir).lookup("ghcr.io", "org/app", "regcred")
    assert str(exc.value) == (
        f"secret 'regcred' not found: expected {secrets_dir}/regcred/.dockerconfigjson "
        "or $IMAGEBOT_SECRET_REGCRED_DOCKERCONFIGJSON"
    )


def test_secret_ref_from_environment_variable() -> None:
    environ = {"IMAGEBOT_SECRET_REGCRED_DOCKERCONFIGJSON": auths({"ghcr.io": basic("robot", "pw")})}
    found = keychain(environ).lookup("ghcr.io", "org/app", "regcred")
    assert found == Credential("robot", "pw", origin="secret regcred")


def test_legacy_dockercfg_secret(secrets_dir: Path) -> None:
    # kubernetes.io/dockercfg: the auths mapping itself, without the "auths" wrapper
    write_secret(secrets_dir, json.dumps({"https://ghcr.io": basic("legacy", "pw")}), key=".dockercfg")
    found = keychain(secrets_dir=secrets_dir).lookup("ghcr.io", "org/app", "regcred")
    assert found == Credential("legacy", "pw", origin="secret regcred")


@pytest.mark.parametrize(
    ("where", "origin"),
    [
        pytest.param("secret", "secret regcred", id="secret"),
        pytest.param("env", "$DOCKER_AUTH_CONFIG", id="docker-auth-config"),
        pytest.param("file", "config.json", id="docker-config"),
    ],
)
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param('{"auths": {"ghcr.io": {"auth": "c2VjcmV0OnB3"}}', "not valid JSON (line 1)", id="truncated"),
        pytest.param('["hunter2"]', "expected a JSON object", id="json-list"),
    ],
)
def test_unreadable_docker_config_names_its_origin_but_not_its_content(
    secrets_dir: Path, docker_dir: Path, where: str, origin: str, text: str, problem: str
) -> None:
    environ: dict[str, str] = {}
    if where == "secret":
        write_secret(secrets_dir, text)
    elif where == "env":
        environ["DOCKER_AUTH_CONFIG"] = text
    else:
        (docker_dir / "config.json").write_text(text)
        environ["DOCKER_CONFIG"] = str(docker_dir)
    with pytest.raises(ConfigError) as exc:
        keychain(environ, secrets_dir=secrets_dir).lookup("ghcr.io", "org/app", "regcred" if where == "secret" else None)
    message = str(exc.value)
    assert origin in message
    assert message.endswith(problem)
    assert "c2VjcmV0OnB3" not in message
    assert "hunter2" not in message


# --- auths keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "host"),
    [
        pytest.param("ghcr.io", "ghcr.io", id="bare-host"),
        pytest.param("https://ghcr.io", "ghcr.io", id="https-url"),
        pytest.param("https://ghcr.io/v2/", "ghcr.io", id="url-with-v2-path"),
        pytest.param("ghcr.io/", "ghcr.io", id="trailing-slash"),
        pytest.param("localhost:5000", "localhost:5000", id="host-and-port"),
        pytest.param("http://localhost:5000", "localhost:5000", id="http-url-with-port"),
        pytest.param("127.0.0.1:5000", "127.0.0.1:5000", id="ip-and-port"),
        pytest.param("https://index.docker.io/v1/", "docker.io", id="hub-index-url"),
        pytest.param("index.docker.io", "docker.io", id="hub-index-host"),
        pytest.param("docker.io", "docker.io", id="hub-docker-io"),
        pytest.param("registry-1.docker.io", "docker.io", id="hub-registry-1"),
    ],
)
def test_auths_key_forms(key: str, host: str) -> None:
    found = lookup_in_auth_config({key: basic("user", "pw")}, host)
    assert found == Credential("user", "pw", origin="$DOCKER_AUTH_CONFIG")


@pytest.mark.parametrize(
    ("key", "host"),
    [
        pytest.param("localhost:5000", "localhost:5001", id="other-port"),
        pytest.param("localhost:5000", "localhost", id="port-is-not-optional"),
        pytest.param("ghcr.io", "docker.io", id="other-host"),
        pytest.param("https://index.docker.io/v1/", "ghcr.io", id="hub-key-for-other-host"),
        pytest.param("ghcr.io.evil.example", "ghcr.io", id="suffix-host"),
    ],
)
def test_auths_keys_that_do_not_match(key: str, host: str) -> None:
    assert lookup_in_auth_config({key: basic("user", "pw")}, host) is None


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        pytest.param("https://index.docker.io/v1/", "docker.io", "https://index.docker.io/v1/", id="index-url-first"),
        pytest.param("docker.io", "https://index.docker.io/v1/", "https://index.docker.io/v1/", id="index-url-second"),
        pytest.param("registry-1.docker.io", "index.docker.io", "index.docker.io", id="index-host-beats-registry-1"),
    ],
)
def test_docker_hub_key_preference(first: str, second: str, expected: str) -> None:
    # the key itself as the (plain-field) username tells which entry won
    entries = {key: {"username": key, "password": "pw"} for key in (first, second)}
    found = lookup_in_auth_config(entries, "docker.io", "library/nginx")
    assert found is not None
    assert found.username == expected


@pytest.mark.parametrize("specific_first", [pytest.param(True, id="path-key-first"),
                                            pytest.param(False, id="host-key-first")])
def test_repository_specific_keys_beat_host_keys_whatever_the_order(specific_first: bool) -> None:
    entries = {"gcr.io/project-a": basic("project-a", "pw"), "gcr.io": basic("host", "pw")}
    if not specific_first:
        entries = dict(reversed(entries.items()))
    found_a = lookup_in_auth_config(entries, "gcr.io", "project-a/app")
    found_b = lookup_in_auth_config(entries, "gcr.io", "project-b/app")
    assert (found_a.username if found_a else None) == "project-a"
    assert (found_b.username if found_b else None) == "host"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("team/app", "repository", id="exact-repository"),
        pytest.param("team/app/sub", "repository", id="below-repository"),
        pytest.param("team/other", "namespace", id="namespace"),
        pytest.param("elsewhere/app", "host", id="host"),
    ],
)
def test_most_specific_key_wins(path: str, expected: str) -> None:
    entries = {
        "https://registry.example.com": basic("host", "pw"),
        "registry.example.com/team/app": basic("repository", "pw"),
        "registry.example.com/team": basic("namespace", "pw"),
    }
    found = lookup_in_auth_config(entries, "registry.example.com", path)
    assert (found.username if found else None) == expected


def test_repository_key_on_docker_hub_beats_the_index_url() -> None:
    entries = {"https://index.docker.io/v1/": basic("hub", "pw"), "docker.io/myorg": basic("myorg", "pw")}
    assert (lookup_in_auth_config(entries, "docker.io", "myorg/app") or Credential()).username == "myorg"
    assert (lookup_in_auth_config(entries, "docker.io", "library/nginx") or Credential()).username == "hub"


def test_a_repository_key_alone_applies_to_its_host_like_docker_cli() -> None:
    # docker CLI turns every key into a hostname (strip scheme and path)
    found = lookup_in_auth_config({"gcr.io/project-a": basic("project-a", "pw")}, "gcr.io", "project-b/app")
    assert (found.username if found else None) == "project-a"


# --- auths entries ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(basic("user", "pa:ss:word"), Credential("user", "pa:ss:word"), id="colon-in-password"),
        pytest.param({"auth": b64("user:pw", padding=False)}, Credential("user", "pw"), id="missing-padding"),
        pytest.param({"auth": b64("user:pw\0\0")}, Credential("user", "pw"), id="trailing-nul"),
        pytest.param(basic("user", ""), Credential("user", ""), id="empty-password"),
        pytest.param({"username": "user", "password": "pw"}, Credential("user", "pw"), id="plain-fields"),
        pytest.param(
            {"auth": b64("00000000-0000-0000-0000-000000000000:"), "identitytoken": "refresh"},
            Credential("<token>", identity_token="refresh"), id="identity-token-acr-login",
        ),
        pytest.param(
            {"username": "robot", "identitytoken": "refresh"}, Credential("robot", identity_token="refresh"),
            id="identity-token-with-username",
        ),
        pytest.param({"registrytoken": "bearer"}, Credential(registry_token="bearer"), id="registry-token"),
    ],
)
def test_entry_forms(entry: Mapping[str, str], expected: Credential) -> None:
    found = lookup_in_auth_config({"registry.example.com": entry}, "registry.example.com")
    assert found is not None
    assert (found.username, found.password, found.identity_token, found.registry_token) == (
        expected.username, expected.password, expected.identity_token, expected.registry_token,
    )


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({}, id="empty-entry-docker-desktop"),
        pytest.param({"auth": ""}, id="empty-auth"),
        pytest.param({"username": "user"}, id="username-without-password"),
        pytest.param("not-a-mapping", id="not-a-mapping"),
    ],
)
def test_entries_without_credentials_are_skipped_silently(
    entry: object, caplog: pytest.LogCaptureFixture
) -> None:
    assert lookup_in_auth_config({"registry.example.com": entry}, "registry.example.com") is None
    assert not caplog.records


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        pytest.param("%%%%-hunter2", "not base64", id="not-base64"),
        pytest.param(b64("hunter2"), "no user:password", id="no-colon"),
        pytest.param(b64(":hunter2"), "no user:password", id="empty-username"),
        pytest.param(base64.b64encode(b"\xff\xfe:hunter2").decode(), "not base64", id="not-utf8"),
    ],
)
def test_invalid_auth_entries_are_skipped_with_a_warning(
    auth: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    entries = {"registry.example.com/team": {"auth": auth}, "registry.example.com": basic("fallback", "pw")}
    found = lookup_in_auth_config(entries, "registry.example.com", "team/app")
    assert (found.username if found else None) == "fallback"
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == f"ignoring an invalid auth entry in $DOCKER_AUTH_CONFIG ({reason})"
    assert "hunter2" not in record.getMessage()


def test_auths_that_is_not_a_mapping_is_ignored() -> None:
    environ = {"DOCKER_AUTH_CONFIG": json.dumps({"auths": ["ghcr.io"]})}
    assert keychain(environ).lookup("ghcr.io", "org/app") is None


# --- environment conventions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "prefix"),
    [
        pytest.param("ghcr.io", "IMAGEBOT_REGISTRY_GHCR_IO", id="dots"),
        pytest.param("localhost:5000", "IMAGEBOT_REGISTRY_LOCALHOST_5000", id="port"),
        pytest.param("my-registry.example.com", "IMAGEBOT_REGISTRY_MY_REGISTRY_EXAMPLE_COM", id="dashes"),
    ],
)
def test_registry_env_variables(host: str, prefix: str) -> None:
    environ = {f"{prefix}_USERNAME": "robot", f"{prefix}_PASSWORD": "pw"}
    assert keychain(environ).lookup(host, "org/app") == Credential("robot", "pw", origin=f"${prefix}_*")


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({"IMAGEBOT_REGISTRY_GHCR_IO_USERNAME": "robot"}, id="username-only"),
        pytest.param({"IMAGEBOT_REGISTRY_GHCR_IO_PASSWORD": "pw"}, id="password-only"),
        pytest.param({"IMAGEBOT_REGISTRY_GHCR_IO_USERNAME": "", "IMAGEBOT_REGISTRY_GHCR_IO_PASSWORD": "pw"},
                     id="empty-username"),
    ],
)
def test_incomplete_registry_env_variables_are_ignored(environ: dict[str, str]) -> None:
    assert keychain(environ).lookup("ghcr.io", "org/app") is None


@pytest.mark.parametrize(
    ("environ", "host", "expected"),
    [
        pytest.param({"GITHUB_TOKEN": "ghs_x"}, "ghcr.io", Credential("x-access-token", "ghs_x", origin="$GITHUB_TOKEN"),
                     id="github-token-app-user"),
        pytest.param({"GITHUB_TOKEN": "ghs_x", "GITHUB_ACTOR": "octocat"}, "ghcr.io",
                     Credential("octocat", "ghs_x", origin="$GITHUB_TOKEN"), id="github-token-actor"),
        pytest.param({"GITHUB_TOKEN": "ghs_x"}, "docker.io", None, id="github-token-not-for-hub"),
        pytest.param({"GITHUB_TOKEN": "ghs_x"}, "registry.example.com", None, id="github-token-not-for-others"),
        pytest.param({"DOCKERHUB_USERNAME": "me", "DOCKERHUB_TOKEN": "dckr_pat_x"}, "docker.io",
                     Credential("me", "dckr_pat_x", origin="$DOCKERHUB_TOKEN"), id="dockerhub-token"),
        pytest.param({"DOCKERHUB_TOKEN": "dckr_pat_x"}, "docker.io", None, id="dockerhub-token-without-username"),
        pytest.param({"DOCKERHUB_USERNAME": "me", "DOCKERHUB_TOKEN": "dckr_pat_x"}, "ghcr.io", None,
                     id="dockerhub-token-not-for-ghcr"),
        pytest.param(
            {"GITHUB_TOKEN": "ghs_x", "IMAGEBOT_REGISTRY_GHCR_IO_USERNAME": "robot",
             "IMAGEBOT_REGISTRY_GHCR_IO_PASSWORD": "pat"},
            "ghcr.io", Credential("robot", "pat", origin="$IMAGEBOT_REGISTRY_GHCR_IO_*"),
            id="registry-variables-beat-github-token",
        ),
    ],
)
def test_token_env_conventions(environ: dict[str, str], host: str, expected: Credential | None) -> None:
    assert keychain(environ).lookup(host, "org/app") == expected


# --- docker config: location, helpers -----------------------------------------------------------


def test_docker_config_env_wins_over_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])  # a temporary directory (tests/conftest.py)
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {"ghcr.io": basic("home", "pw")}}))
    chain = config.Keychain(config.SecretStore(None))
    assert (chain.lookup("ghcr.io", "org/app") or Credential()).username == "home"
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "config.json").write_text(json.dumps({"auths": {"ghcr.io": basic("env", "pw")}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "elsewhere"))
    assert (config.Keychain(config.SecretStore(None)).lookup("ghcr.io", "org/app") or Credential()).username == "env"


def test_no_docker_config_anywhere_is_anonymous() -> None:
    assert config.Keychain(config.SecretStore(None)).lookup("ghcr.io", "org/app") is None


_HELPERS_CONFIG = {
    "auths": {"ghcr.io": basic("from-auths", "pw")},
    "credsStore": "desktop",
    "credHelpers": {"ghcr.io": "gh"},
}


@pytest.mark.parametrize(
    ("drop", "answers", "expected"),
    [
        pytest.param((), {"gh": "helper", "desktop": "store"}, "helper", id="cred-helpers-first"),
        pytest.param(("credHelpers",), {"gh": "helper", "desktop": "store"}, "store", id="creds-store-second"),
        pytest.param(("credHelpers", "credsStore"), {"gh": "helper", "desktop": "store"}, "from-auths",
                     id="auths-last"),
        pytest.param((), {"desktop": "store"}, "from-auths", id="helper-not-found-falls-back-to-auths-not-store"),
        pytest.param(("credHelpers",), {}, "from-auths", id="store-not-found-falls-back-to-auths"),
    ],
)
def test_cred_helpers_then_creds_store_then_auths(
    docker_dir: Path, drop: tuple[str, ...], answers: dict[str, str], expected: str
) -> None:
    data = {k: v for k, v in _HELPERS_CONFIG.items() if k not in drop}
    helpers = Helpers({(f"docker-credential-{suffix}", "ghcr.io"): answer(user, "s3cr3t")
                       for suffix, user in answers.items()})
    found = keychain(with_docker_config(docker_dir, data), helpers=helpers).lookup("ghcr.io", "org/app")
    assert (found.username if found else None) == expected


def test_cred_helper_for_another_host_is_not_used(docker_dir: Path) -> None:
    helpers = Helpers({("docker-credential-ecr-login", "ghcr.io"): answer("aws", "s3cr3t")})
    environ = with_docker_config(docker_dir, {"credHelpers": {"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"}})
    assert keychain(environ, helpers=helpers).lookup("ghcr.io", "org/app") is None
    assert helpers.calls == []


def test_helper_not_found_is_anonymous_without_a_warning(
    docker_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    helpers = Helpers()
    environ = with_docker_config(docker_dir, {"credsStore": "secretservice"})
    assert keychain(environ, helpers=helpers).lookup("ghcr.io", "org/app") is None
    assert helpers.calls == [("docker-credential-secretservice", "ghcr.io")]
    assert not caplog.records


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        pytest.param((1, "error: pass store is locked: hunter2"), "failed for ghcr.io (exit status 1)", id="exit-1"),
        pytest.param((127, ""), "failed for ghcr.io (not installed)", id="not-installed"),
        pytest.param((124, ""), "failed for ghcr.io (timed out)", id="timed-out"),
        pytest.param((0, "hunter2 is not json"), "returned an unreadable answer for ghcr.io", id="not-json"),
        pytest.param((0, '{"Username": "u"}'), "returned an unreadable answer for ghcr.io", id="no-secret"),
        pytest.param((0, '["hunter2"]'), "returned an unreadable answer for ghcr.io", id="json-list"),
    ],
)
def test_helper_failures_warn_and_fall_back_to_auths(
    docker_dir: Path, caplog: pytest.LogCaptureFixture, result: tuple[int, str], reason: str
) -> None:
    helpers = Helpers({("docker-credential-pass", "ghcr.io"): result})
    environ = with_docker_config(docker_dir, {"credsStore": "pass", "auths": {"ghcr.io": basic("file", "pw")}})
    found = keychain(environ, helpers=helpers).lookup("ghcr.io", "org/app")
    assert (found.username if found else None) == "file"
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"docker-credential-pass {reason}")
    assert "hunter2" not in record.getMessage()


@pytest.mark.parametrize(
    ("host", "server"),
    [
        pytest.param("docker.io", "https://index.docker.io/v1/", id="hub-index-url"),
        pytest.param("ghcr.io", "ghcr.io", id="hostname"),
        pytest.param("localhost:5000", "localhost:5000", id="host-and-port"),
    ],
)
def test_helper_is_asked_for_the_server_url(docker_dir: Path, host: str, server: str) -> None:
    helpers = Helpers({("docker-credential-desktop", server): answer("user", "s3cr3t", server)})
    environ = with_docker_config(docker_dir, {"credsStore": "desktop"})
    found = keychain(environ, helpers=helpers).lookup(host, "library/app")
    assert found == Credential("user", "s3cr3t", origin="credential helper docker-credential-desktop")
    assert helpers.calls == [("docker-credential-desktop", server)]


@pytest.mark.parametrize(
    "key", ["https://index.docker.io/v1/", "index.docker.io", "docker.io"],
)
def test_cred_helpers_entry_for_docker_hub(docker_dir: Path, key: str) -> None:
    # docker CLI keys Docker Hub as https://index.docker.io/v1/ (registry-protocol.md §10.1)
    server = "https://index.docker.io/v1/"
    helpers = Helpers({("docker-credential-hub", server): answer("hubuser", "s3cr3t")})
    environ = with_docker_config(docker_dir, {"credHelpers": {key: "hub"}})
    found = keychain(environ, helpers=helpers).lookup("docker.io", "library/nginx")
    assert (found.username if found else None) == "hubuser"


def test_helper_token_username_means_identity_token(docker_dir: Path) -> None:
    helpers = Helpers({("docker-credential-acr-env", "myacr.azurecr.io"): answer("<token>", "refresh-token")})
    environ = with_docker_config(docker_dir, {"credHelpers": {"myacr.azurecr.io": "acr-env"}})
    found = keychain(environ, helpers=helpers).lookup("myacr.azurecr.io", "app")
    assert found == Credential(
        "<token>", identity_token="refresh-token", origin="credential helper docker-credential-acr-env"
    )
    assert found.password == ""


def test_helper_answers_are_cached_per_server(docker_dir: Path) -> None:
    helpers = Helpers({("docker-credential-gcloud", "gcr.io"): answer("oauth2accesstoken", "ya29")})
    chain = keychain(with_docker_config(docker_dir, {"credsStore": "gcloud"}), helpers=helpers)
    assert chain.lookup("gcr.io", "a/app") == chain.lookup("gcr.io", "b/app")
    assert chain.lookup("quay.io", "org/app") is None
    assert chain.lookup("quay.io", "org/other") is None
    assert helpers.calls == [("docker-credential-gcloud", "gcr.io"), ("docker-credential-gcloud", "quay.io")]


# --- a real credential helper on PATH -----------------------------------------------------------

_HELPER_SCRIPT = """\
import json, sys
server = sys.stdin.read()
with open({log!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "stdin": server}}) + "\\n")
if server.strip() == "registry.example.com":
    json.dump({{"ServerURL": server, "Username": "robot", "Secret": "s3cr3t"}}, sys.stdout)
else:
    print("credentials not found in native keychain")
    sys.exit(1)
"""


@pytest.fixture
def real_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``docker-credential-testhelper`` on ``PATH``; returns the log of its invocations."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "helper.log"
    script = bin_dir / "docker-credential-testhelper"
    script.write_text(f"#!{sys.executable}\n" + _HELPER_SCRIPT.format(log=str(log)))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


def test_real_helper_speaks_the_protocol(real_helper: Path, docker_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (docker_dir / "config.json").write_text(json.dumps({"credsStore": "testhelper"}))
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
    chain = config.Keychain(config.SecretStore(None))  # the real subprocess runner
    assert chain.lookup("registry.example.com", "team/app") == Credential(
        "robot", "s3cr3t", origin="credential helper docker-credential-testhelper"
    )
    assert chain.lookup("docker.io", "library/nginx") is None  # "not found": anonymous
    calls = [json.loads(line) for line in real_helper.read_text().splitlines()]
    # the server URL and a newline, as docker's own client writes it
    assert calls == [
        {"argv": ["get"], "stdin": "registry.example.com\n"},
        {"argv": ["get"], "stdin": "https://index.docker.io/v1/\n"},
    ]


def test_missing_helper_executable_warns_and_falls_back(
    docker_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    # a shell would run `touch`; without one the whole string is just a program that does not exist
    store = f"nothing; touch {tmp_path / 'shell-ran'}"
    data = {"credsStore": store, "auths": {"ghcr.io": basic("file", "pw")}}
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
    (docker_dir / "config.json").write_text(json.dumps(data))
    found = config.Keychain(config.SecretStore(None)).lookup("ghcr.io", "org/app")
    assert (found.username if found else None) == "file"
    assert not (tmp_path / "shell-ran").exists()
    assert [r.getMessage() for r in caplog.records] == [
        f"docker-credential-{store} failed for ghcr.io (not installed); trying other sources"
    ]


# --- secrets never leak -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "credential",
    [
        pytest.param(Credential("user", password="hunter2", origin="x"), id="password"),
        pytest.param(Credential("<token>", identity_token="hunter2", origin="x"), id="identity-token"),
        pytest.param(Credential(registry_token="hunter2", origin="x"), id="registry-token"),
    ],
)
def test_credential_repr_hides_secrets(credential: Credential) -> None:
    assert "hunter2" not in repr(credential)
    assert "hunter2" not in str(credential)
    assert credential.secrets == ("hunter2",)


def test_no_secret_in_any_message_of_a_failing_lookup_chain(
    secrets_dir: Path, docker_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "hunter2-very-secret"
    write_secret(secrets_dir, auths({"quay.io": basic("quay", secret)}))
    environ = with_docker_config(
        docker_dir,
        {"credsStore": "broken", "auths": {"ghcr.io/org": {"auth": b64(secret)}, "ghcr.io": {"auth": secret}}},
    )
    environ["DOCKER_AUTH_CONFIG"] = auths({"ghcr.io": {"auth": b64(f":{secret}")}})
    helpers = Helpers({("docker-credential-broken", "ghcr.io"): (2, f"fatal: {secret}")})
    chain = keychain(environ, secrets_dir=secrets_dir, helpers=helpers)
    assert chain.lookup("ghcr.io", "org/app", "regcred") is None
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 5  # secret without entry, 1 invalid env entry, helper, 2 invalid file entries
    with pytest.raises(ConfigError) as exc:
        keychain({"DOCKER_AUTH_CONFIG": '{"auths": {"ghcr.io": "' + secret}).lookup("ghcr.io", "org/app")
    for message in [*messages, str(exc.value)]:
        assert secret not in message
        assert b64(secret) not in message
