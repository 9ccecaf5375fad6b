"""``images.parse_image_repo`` and the image value types.

Aspects under test (Docker reference rules, registry-protocol.md §1; Flux ``spec.image``, flux-semantics §2.1):
* the first component is a registry host only with a ``.``, a ``:port``, ``localhost`` or upper case;
* Docker Hub: ``docker.io``/``index.docker.io``/``registry-1.docker.io`` are one registry, and
  official images get ``library/``;
* ``name`` keeps the text as written (setters write it back), ``canonical`` is host + path;
* rejected: scheme, tag, digest, upper-case path, empty components, whitespace, bad hosts;
* ``ImageRef`` renders ``name:tag[@digest]``.
"""

from __future__ import annotations

import pytest

from imagebot.model.ids import Digest, Tag
from imagebot.model.images import ImageRef, ImageRepo, parse_image_repo


@pytest.mark.parametrize(
    ("image", "registry", "path"),
    [
        pytest.param("nginx", "docker.io", "library/nginx", id="official-image"),
        pytest.param("fluxcd/flux", "docker.io", "fluxcd/flux", id="hub-user-image"),
        pytest.param("docker.io/nginx", "docker.io", "library/nginx", id="docker-io-official"),
        pytest.param("docker.io/library/nginx", "docker.io", "library/nginx", id="docker-io-library"),
        pytest.param("index.docker.io/nginx", "docker.io", "library/nginx", id="index-alias"),
        pytest.param("registry-1.docker.io/bitnami/redis", "docker.io", "bitnami/redis", id="registry-1-alias"),
        pytest.param("Docker.IO/nginx", "docker.io", "library/nginx", id="hub-host-any-case"),
        pytest.param("ghcr.io/stefanprodan/podinfo", "ghcr.io", "stefanprodan/podinfo", id="ghcr"),
        pytest.param("ghcr.io/org/team/sub/app", "ghcr.io", "org/team/sub/app", id="deep-path"),
        pytest.param("localhost/app", "localhost", "app", id="localhost"),
        pytest.param("localhost:5000/app", "localhost:5000", "app", id="localhost-port"),
        pytest.param("127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app", id="ipv4-port"),
        pytest.param("[::1]:5000/app", "[::1]:5000", "app", id="ipv6-port"),
        pytest.param("registry:5000/app", "registry:5000", "app", id="dotless-host-with-port"),
        pytest.param("Registry/app", "Registry", "app", id="upper-case-first-component-is-a-host"),
        pytest.param("quay.io/org/my_app", "quay.io", "org/my_app", id="underscore"),
        pytest.param("quay.io/org/my__app", "quay.io", "org/my__app", id="double-underscore"),
        pytest.param("quay.io/org/my---app", "quay.io", "org/my---app", id="dashes"),
        pytest.param("quay.io/org/app.v2", "quay.io", "org/app.v2", id="dot-in-path"),
        pytest.param(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com", "team/app", id="ecr",
        ),
        pytest.param("europe-docker.pkg.dev/proj/repo/app", "europe-docker.pkg.dev", "proj/repo/app",
                     id="artifact-registry"),
    ],
)
def test_valid_images(image: str, registry: str, path: str) -> None:
    repo = parse_image_repo(image)
    assert repo == ImageRepo(registry=registry, path=path, name=image)
    assert repo.canonical == f"{registry}/{path}"
    assert str(repo) == image


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        pytest.param("", "empty or surrounded by whitespace", id="empty"),
        pytest.param(" nginx", "empty or surrounded by whitespace", id="leading-space"),
        pytest.param("nginx\n", "empty or surrounded by whitespace", id="trailing-newline"),
        pytest.param("https://ghcr.io/org/app", "remove the URL scheme", id="https-scheme"),
        pytest.param("oci://ghcr.io/org/app", "remove the URL scheme", id="oci-scheme"),
        pytest.param("nginx:1.25", "a repository takes no tag", id="hub-tag"),
        pytest.param("ghcr.io/org/app:v1", "a repository takes no tag", id="tag"),
        pytest.param("localhost:5000/app:latest", "a repository takes no tag", id="port-and-tag"),
        pytest.param("ghcr.io/org/app@sha256:" + "a" * 64, "a repository takes no digest", id="digest"),
        pytest.param("ghcr.io/Org/app", "must be lowercase", id="upper-case-path"),
        pytest.param("NGINX", "must be lowercase", id="upper-case-single-component"),
        pytest.param("ghcr.io/", "must be lowercase", id="host-only"),
        pytest.param("ghcr.io/org//app", "must be lowercase", id="empty-component"),
        pytest.param("ghcr.io/org/app/", "must be lowercase", id="trailing-slash"),
        pytest.param("ghcr.io/-org/app", "must be lowercase", id="leading-separator"),
        pytest.param("ghcr.io/org/app-", "must be lowercase", id="trailing-separator"),
        pytest.param("ghcr.io/org/a..b", "must be lowercase", id="double-dot"),
        pytest.param("ghcr.io/org/a___b", "must be lowercase", id="triple-underscore"),
        pytest.param("my_registry.io/app", "bad registry host 'my_registry.io'", id="underscore-in-host"),
        pytest.param("ghcr.io:port/app", "bad registry host 'ghcr.io:port'", id="non-numeric-port"),
    ],
)
def test_invalid_images(image: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid image ") as exc:
        parse_image_repo(image)
    assert reason in str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("ref", "text"),
    [
        pytest.param(ImageRef("nginx", Tag("1.25")), "nginx:1.25", id="tag"),
        pytest.param(
            ImageRef("ghcr.io/org/app", Tag("v1"), Digest("sha256:" + "0" * 64)),
            "ghcr.io/org/app:v1@sha256:" + "0" * 64, id="tag-and-digest",
        ),
    ],
)
def test_image_ref_text(ref: ImageRef, text: str) -> None:
    assert str(ref) == text
