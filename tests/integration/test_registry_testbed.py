"""The test bed itself: each auth mode answers like registry-testbed.md says, seeding works with
the right credentials and is refused with wrong ones, digests are what the bytes say, and the
process lifecycle (start, restart, stop, start-up failure) is clean."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from testing.credentials import Credentials
from testing.images import MANIFEST_ACCEPT, build_image, build_index
from testing.pusher import PushError, parse_challenge
from testing.registry import RegistryServer, RegistryStartError

pytestmark = pytest.mark.integration


def _get(registry: RegistryServer, path: str) -> httpx.Response:
    with httpx.Client(verify=registry.ssl_context(), trust_env=False) as client:
        return client.get(f"{registry.url}{path}")


# -- what an unauthenticated client sees -----------------------------------------------------


def test_anonymous_ping_is_200(registry_anonymous: RegistryServer) -> None:
    response = _get(registry_anonymous, "/v2/")
    assert response.status_code == 200
    assert response.json() == {}
    assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"


def test_htpasswd_ping_is_a_basic_challenge(registry_htpasswd: RegistryServer) -> None:
    response = _get(registry_htpasswd, "/v2/")
    assert response.status_code == 401
    assert parse_challenge(response.headers["WWW-Authenticate"]) == (
        "basic", {"realm": "basic-realm"}
    )
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_token_ping_is_a_bearer_challenge_without_scope(registry_token: RegistryServer) -> None:
    assert registry_token.token_server is not None
    response = _get(registry_token, "/v2/")
    assert response.status_code == 401
    assert parse_challenge(response.headers["WWW-Authenticate"]) == (
        "bearer",
        {"realm": registry_token.token_server.realm, "service": "testbed-registry"},
    )


def test_token_challenge_names_the_repository_scope(
    registry_token: RegistryServer, repo: Callable[[str], str]
) -> None:
    name = repo("library/app")
    response = _get(registry_token, f"/v2/{name}/tags/list")
    assert response.status_code == 401
    scheme, params = parse_challenge(response.headers["WWW-Authenticate"])
    assert scheme == "bearer"
    assert params["scope"] == f"repository:{name}:pull"
    assert "error" not in params


# -- seeding and reading back ----------------------------------------------------------------


def _reader(registry: RegistryServer) -> Credentials | None:
    return None if registry.mode == "anonymous" else registry.credentials("bob")


def test_push_then_list_as_a_reader(registry: RegistryServer, repo: Callable[[str], str]) -> None:
    name = repo("library/app")
    pushed = registry.push_tags(name, ["1.0.0", "1.1.0", "1.10.0", "latest", "Zeta"])
    assert len(set(pushed.values())) == 5  # one image per tag by default
    with registry.pusher(_reader(registry)) as reader:
        assert sorted(reader.tags(name) or []) == sorted(pushed)
        assert {tag: reader.digest(name, tag) for tag in pushed} == pushed


def test_index_and_manifest_list_digests(
    registry: RegistryServer, repo: Callable[[str], str]
) -> None:
    name = repo("library/multi")
    oci = build_index(attestation=True)
    docker = build_index(fmt="docker")
    assert registry.push_index(name, "2.0.0", oci) == oci.digest
    assert registry.push_index(name, "1.0.0", docker) == docker.digest
    assert registry.push_image(name, "docker-v2", fmt="docker") == registry.digest(name, "docker-v2")
    assert registry.digest(name, "2.0.0") == oci.digest
    assert registry.digest(name, "1.0.0") == docker.digest
    children = {child.digest for child in (*oci.children, *docker.children)}
    assert oci.digest not in children
    assert docker.digest not in children


def test_full_accept_header_matters_for_a_manifest_list(
    registry_anonymous: RegistryServer, repo: Callable[[str], str]
) -> None:
    name = repo("library/multi")
    index = build_index(fmt="docker")
    registry_anonymous.push_index(name, "1.0.0", index)
    url = f"/v2/{name}/manifests/1.0.0"
    with httpx.Client(trust_env=False) as client:
        full = client.head(registry_anonymous.url + url, headers={"Accept": MANIFEST_ACCEPT})
        narrow = client.head(
            registry_anonymous.url + url,
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
    assert full.headers["Docker-Content-Digest"] == index.digest
    assert narrow.headers["Docker-Content-Digest"] == index.children[0].digest  # amd64 child


def test_untagged_repository_lists_tags_null(
    registry: RegistryServer, repo: Callable[[str], str]
) -> None:
    name = repo("solo/repo")
    registry.make_untagged(name)
    assert registry.tags(name) is None
    assert name in registry.seeder.catalog()  # the repository still exists


def test_unknown_repository_is_name_unknown(
    registry_anonymous: RegistryServer, repo: Callable[[str], str]
) -> None:
    response = _get(registry_anonymous, f"/v2/{repo('nope/nope')}/tags/list")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NAME_UNKNOWN"


# -- credentials -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["htpasswd", "token"])
def test_wrong_password_is_refused(
    mode: str, request: pytest.FixtureRequest, repo: Callable[[str], str]
) -> None:
    registry: RegistryServer = request.getfixturevalue(f"registry_{mode}")
    name = repo("library/app")
    registry.push_image(name, "1.0.0")
    with (
        registry.pusher(Credentials("bob", "not-bobs-password")) as intruder,
        pytest.raises(PushError) as exc,
    ):
        intruder.tags(name)
    assert exc.value.status_code == 401


def test_htpasswd_without_credentials_is_refused(
    registry_htpasswd: RegistryServer, repo: Callable[[str], str]
) -> None:
    name = repo("library/app")
    registry_htpasswd.push_image(name, "1.0.0")
    with registry_htpasswd.pusher(None) as anonymous, pytest.raises(PushError) as exc:
        anonymous.tags(name)
    assert exc.value.status_code == 401


def test_token_reader_cannot_push(
    registry_token: RegistryServer, repo: Callable[[str], str]
) -> None:
    name = repo("library/app")
    with registry_token.pusher(registry_token.credentials("bob")) as bob, pytest.raises(PushError):
        bob.push_image(name, "1.0.0", build_image())


def test_token_anonymous_pulls_public_only(
    registry_token: RegistryServer, repo: Callable[[str], str]
) -> None:
    public, private = repo("public/tool"), repo("library/private")
    registry_token.push_image(public, "1.0.0")
    registry_token.push_image(private, "1.0.0")
    with registry_token.pusher(None) as anonymous:
        assert anonymous.tags(public) == ["1.0.0"]
        with pytest.raises(PushError) as exc:
            anonymous.tags(private)
    assert exc.value.status_code == 401
    response = _get(registry_token, f"/v2/{private}/tags/list")  # the challenge, for the record
    assert response.status_code == 401


def test_token_server_grants_the_intersection(registry_token: RegistryServer) -> None:
    server = registry_token.token_server
    assert server is not None
    scope = "repository:library/x:pull,push"
    with httpx.Client(trust_env=False) as client:
        response = client.get(
            server.realm, params={"service": server.service, "scope": scope},
            auth=registry_token.credentials("bob"),
        )
        wrong = client.get(server.realm, params={"service": server.service}, auth=("bob", "no"))
        other = client.get(server.realm, params={"service": "elsewhere"})
    assert response.status_code == 200
    token = response.json()["token"]
    header, claims = (
        json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        for part in token.split(".")[:2]
    )
    assert header["alg"] == "ES256"
    assert header["kid"] == server.key.kid
    assert len(header["kid"]) == 59  # 12 groups of 4, joined by ':'
    assert claims["aud"] == "testbed-registry"  # a string, not a list
    assert claims["access"] == [{"type": "repository", "name": "library/x", "actions": ["pull"]}]
    assert wrong.status_code == 401
    assert other.status_code == 400


def test_credentials_files(registry_htpasswd: RegistryServer, tmp_path: Path) -> None:
    secret = registry_htpasswd.write_secret(tmp_path / "secrets", "bob")
    config = registry_htpasswd.write_docker_config(tmp_path / "docker", "bob", password="x")
    assert secret == tmp_path / "secrets" / "regcred" / ".dockerconfigjson"
    auth = json.loads(secret.read_text())["auths"][registry_htpasswd.host]["auth"]
    assert base64.b64decode(auth).decode() == f"bob:{registry_htpasswd.users['bob']}"
    auth = json.loads(config.read_text())["auths"][registry_htpasswd.host]["auth"]
    assert base64.b64decode(auth).decode() == "bob:x"


# -- lifecycle (own instances) ---------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_restart_keeps_data_and_stop_ends_the_process(tmp_path: Path) -> None:
    with RegistryServer(tmp_path, "htpasswd") as registry:
        digest = registry.push_image("library/app", "1.0.0")
        url, first_pid = registry.url, registry.pid
        registry.add_user("carol", "carol-pw")
        registry.restart()
        assert registry.url == url
        assert registry.pid != first_pid
        with registry.pusher(registry.credentials("carol")) as carol:
            assert carol.digest("library/app", "1.0.0") == digest
        pid = registry.pid
    assert pid is not None
    assert not registry.running
    assert not _alive(pid)
    assert "listening on" in registry.log_text()


def test_tls_and_extra_headers(tmp_path: Path) -> None:
    headers = {"RateLimit-Limit": ["100;w=21600"], "RateLimit-Remaining": ["7;w=21600"]}
    with RegistryServer(tmp_path, tls=True, headers=headers, storage="inmemory") as registry:
        assert registry.url.startswith("https://")
        with httpx.Client(trust_env=False) as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get(f"{registry.url}/v2/")
        response = _get(registry, "/v2/")
        assert response.status_code == 200
        assert response.headers["RateLimit-Remaining"] == "7;w=21600"


def test_start_failure_raises_with_the_log(tmp_path: Path) -> None:
    (tmp_path / "fake-registry").write_text("#!/bin/sh\necho 'boom: bad config' >&2\nexit 3\n")
    (tmp_path / "fake-registry").chmod(0o755)
    with (
        pytest.raises(RegistryStartError, match=r"exited with 3(.|\n)*boom: bad config"),
        RegistryServer(tmp_path / "root", binary=str(tmp_path / "fake-registry")),
    ):
        pass
