"""Tags that are not container images (issue 10): signature, attestation and SBOM tags and the OCI
referrers fallback tag never become candidates, whatever the exclusionList, unless the
ImageRepository opts in; with ``--created``, manifests whose config or ``artifactType`` says they
are not images (Helm charts, WASM, generic artifacts) are dropped too.
"""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from imagebot.model import flux
from tests.fakes.registry import FakeRegistry
from tests.scan.helpers import repo, run, tags_of

HEX = "ab" * 32
ARTIFACT_TAGS = [f"sha256-{HEX}.sig", f"sha256-{HEX}.att", f"sha256-{HEX}.sbom", f"sha256-{HEX}",
                 f"sha512-{'cd' * 32}"]


@pytest.mark.parametrize("exclusions", [
    pytest.param(flux.DEFAULT_EXCLUSIONS, id="default-exclusions"),
    pytest.param(("^0",), id="custom-exclusions-replace-the-default-but-not-this"),
])
def test_signature_attestation_and_sbom_tags_are_never_candidates(exclusions: tuple[str, ...]) -> None:
    fake = FakeRegistry(tags={"org/app": ["1.0.0", "v1.sig-ok", "sha256-not-hex", *ARTIFACT_TAGS]})
    [result] = run(fake, [repo(exclusion_list=exclusions)], digests="all")
    assert tags_of(result) == ["v1.sig-ok", "sha256-not-hex", "1.0.0"]
    assert not any("sha256-" + HEX in r.url.path for r in fake.requests)


def test_an_image_repository_can_opt_in_to_artifact_tags() -> None:
    fake = FakeRegistry(tags={"org/app": ["1.0.0", *ARTIFACT_TAGS]})
    [result] = run(fake, [repo(include_artifacts=True, exclusion_list=("^none$",))])
    assert sorted(tags_of(result)) == sorted(["1.0.0", *ARTIFACT_TAGS])


def _artifact_registry(kinds: dict[str, dict[str, object]]) -> tuple[FakeRegistry, httpx.MockTransport]:
    fake = FakeRegistry(tags={"org/app": list(kinds)})
    bodies = {tag: json.dumps(doc).encode() for tag, doc in kinds.items()}

    def route(request: httpx.Request) -> httpx.Response:
        if "/manifests/" in request.url.path:
            tag = request.url.path.rsplit("/", 1)[-1]
            body = bodies[tag]
            headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                       "Docker-Content-Digest": "sha256:" + hashlib.sha256(body).hexdigest()}
            return httpx.Response(200, content=b"" if request.method == "HEAD" else body, headers=headers)
        if "/blobs/" in request.url.path:
            return httpx.Response(404)
        return fake.handle(request)

    return fake, httpx.MockTransport(route)


def _manifest(config_type: str, **extra: object) -> dict[str, object]:
    return {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": config_type, "digest": "sha256:" + "0" * 64, "size": 2}, "layers": [], **extra}


@pytest.mark.parametrize("include", [pytest.param(False, id="default"), pytest.param(True, id="opted-in")])
def test_manifests_that_are_not_images_are_dropped_when_read(include: bool) -> None:
    kinds = {
        "1.0.0": _manifest("application/vnd.oci.image.config.v1+json"),
        "2.0.0": _manifest("application/vnd.docker.container.image.v1+json"),
        "9.9.9": _manifest("application/vnd.cncf.helm.config.v1+json"),
        "wasm": _manifest("application/vnd.wasm.config.v0+json"),
        "sbom": _manifest("application/vnd.oci.empty.v1+json", artifactType="application/spdx+json"),
    }
    _, transport = _artifact_registry(kinds)
    [result] = run(transport, [repo(include_artifacts=include)], digests="all", created=True)
    expected = sorted(kinds) if include else ["1.0.0", "2.0.0"]
    assert sorted(tags_of(result)) == expected
