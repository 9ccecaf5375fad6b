"""What registries serve, checked before it is believed (issue 10, "Content the registry serves").

Aspects: a manifest body whose ``Docker-Content-Digest`` or ``Content-Type`` contradicts it is an
error for that tag; malformed digests in an index are never requested; only the documented
page-size refusals trigger smaller pages; rate-limit windows are parsed, reported and exposed, and
digests obtained before a rate limit are kept; gzip bodies are capped while decoding.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import tracemalloc

import httpx
import pytest

from imagebot.model.scans import RateBudget
from tests.fakes.registry import ChunkedStream, FakeRegistry
from tests.scan.helpers import repo, run, tags_of

INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def _no_head(fake: FakeRegistry, answer: httpx.Response) -> httpx.MockTransport:
    """HEAD on manifests answers 405 (the digest must come from a GET, which gets ``answer``)."""

    def route(request: httpx.Request) -> httpx.Response:
        if "/manifests/" in request.url.path:
            fake.requests.append(request)
            return httpx.Response(405) if request.method == "HEAD" else answer
        return fake.handle(request)

    return httpx.MockTransport(route)


def test_a_manifest_whose_digest_header_contradicts_its_body_is_an_error_for_that_tag(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    body = fake.manifest("org/app", "1")
    lying = httpx.Response(200, content=body, headers={
        "Content-Type": MANIFEST_TYPE, "Docker-Content-Digest": "sha256:" + "1" * 64})
    with caplog.at_level(logging.WARNING, logger="imagebot"):
        [result] = run(_no_head(fake, lying), [repo()], digests="all")
    assert tags_of(result) == ["1"]
    assert result.tags is not None and result.tags.digests == {}
    [warning] = _warnings(caplog)
    assert "digest mismatch" in warning


def test_a_manifest_without_a_digest_header_gets_the_computed_digest() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    body = fake.manifest("org/app", "1")
    plain = httpx.Response(200, content=body, headers={"Content-Type": MANIFEST_TYPE})
    [result] = run(_no_head(fake, plain), [repo()], digests="all")
    assert result.tags is not None
    assert result.tags.digests == {"1": "sha256:" + hashlib.sha256(body).hexdigest()}


def test_a_content_type_contradicting_the_media_type_is_an_error_for_that_tag(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    body = fake.manifest("org/app", "1")  # an image manifest, served as an index
    wrong = httpx.Response(200, content=body, headers={"Content-Type": INDEX_TYPE})
    with caplog.at_level(logging.WARNING, logger="imagebot"):
        [result] = run(_no_head(fake, wrong), [repo()], digests="all")
    assert result.tags is not None and result.tags.digests == {}
    [warning] = _warnings(caplog)
    assert "contradicts" in warning


def test_an_index_entry_with_a_malformed_digest_is_never_requested() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    index = json.dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [
        {"mediaType": MANIFEST_TYPE, "digest": "sha256:xyz", "size": 2,
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
    digest = "sha256:" + hashlib.sha256(index).hexdigest()

    def route(request: httpx.Request) -> httpx.Response:
        if "/manifests/" in request.url.path:
            fake.requests.append(request)
            return httpx.Response(200, content=index if request.method == "GET" else b"",
                                  headers={"Content-Type": INDEX_TYPE, "Docker-Content-Digest": digest})
        return fake.handle(request)

    [result] = run(httpx.MockTransport(route), [repo()], digests="all", created=True)
    assert result.tags is not None and result.tags.digests == {"1": digest}
    assert not any(r.url.path.endswith("sha256:xyz") for r in fake.requests)


def test_400_name_invalid_is_not_a_page_size_refusal() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(
        400, json={"errors": [{"code": "NAME_INVALID", "message": "invalid repository name"}]}))
    [result] = run(fake, [repo()])
    assert result.error == "registry registry.test: tag list of org/app answered 400: NAME_INVALID: invalid repository name"
    assert len([r for r in fake.requests if r.url.path.endswith("/tags/list")]) == 1


def test_400_pagination_number_invalid_falls_back_to_smaller_pages() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(
        400, json={"errors": [{"code": "PAGINATION_NUMBER_INVALID", "message": "invalid number of results"}]}))
    [result] = run(fake, [repo()])
    assert tags_of(result) == ["1"]
    assert [r.url.params.get("n") for r in fake.requests] == ["1000", "100"]


def test_an_exhausted_pull_budget_keeps_the_digests_obtained_and_reports_the_window(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    budget = {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "0;w=21600"}

    def route(request: httpx.Request) -> httpx.Response:
        response = fake.handle(request)
        if request.method == "HEAD":  # the HEAD that obtained the digest spent the last pull
            response.headers.update(budget)
        return response

    with caplog.at_level(logging.WARNING, logger="imagebot"):
        [result] = run(httpx.MockTransport(route), [repo()], digests="all", created=True)
    assert result.tags is not None and result.tags.digests == {"1": fake.digest("org/app", "1")}
    assert result.rate_limit == RateBudget(limit=100, remaining=0, window=21600)
    assert any("budget exhausted" in w and "resets within 6h" in w for w in _warnings(caplog))


def test_a_gzip_body_is_capped_while_it_is_decoded() -> None:
    bomb = gzip.compress(b"0" * (200 * 1024 * 1024), compresslevel=9)  # ~200 KiB that inflate to 200 MiB
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(
        200, stream=ChunkedStream(bomb), headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}))
    tracemalloc.start()
    try:
        [result] = run(fake, [repo()])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error is not None and "exceeds the 8388608-byte limit" in result.error
    assert peak < 48 * 1024 * 1024, peak
