"""The registry protocol defects of the conformance run (issue 10), each against a fake that
reproduces it (httpx.MockTransport) where a real registry cannot.

Aspects: token servers that do not answer are named by URL; redirects (at most 5 hops, no
https→http downgrade); requestDeadline bounds a request with its retries; refused tokens and
always-503 registries make a small, counted number of requests; OAuth2 404 remembered per realm
with the credentials sent on the GET; link-local token realms refused.
"""

from __future__ import annotations

import httpx
import pytest

from imagebot.model.registries import Credential, RegistrySettings
from tests.fakes.registry import FakeRegistry
from tests.scan.helpers import ALICE, Sleeps, repo, run, tags_of


def test_a_token_server_that_never_answers_is_named_by_its_url() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]}, auth="bearer")

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            raise httpx.ConnectTimeout("timed out")
        return fake.handle(request)

    [result] = run(httpx.MockTransport(route), [repo()], credential=ALICE)
    assert result.error is not None
    assert result.error.startswith("registry registry.test: token server https://auth.test/token: timed out")


def test_a_redirect_loop_is_followed_at_most_five_times_and_fails_that_tag_only() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    other = FakeRegistry(host="ghcr.io", tags={"org/ok": ["3"]})
    blobs: list[httpx.Request] = []

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "ghcr.io":
            return other.handle(request)
        if "/blobs/" in request.url.path:  # the config blob (creation time) redirects forever
            blobs.append(request)
            return httpx.Response(307, headers={"Location": str(request.url)})
        return fake.handle(request)

    app, ok = run(httpx.MockTransport(route), [repo(), repo("ghcr.io/org/ok", "ok")], digests="all", created=True)
    assert tags_of(app) == ["1"]
    assert app.tags is not None and set(app.tags.digests) == {"1"} and app.tags.created == {}
    assert 1 < len(blobs) <= 6
    assert tags_of(ok) == ["3"]


def test_manifests_follow_redirects_to_storage() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    storage = FakeRegistry(host="storage.test", tags={"org/app": ["1"]})

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "storage.test":
            return storage.handle(request)
        if "/manifests/" in request.url.path:
            return httpx.Response(307, headers={"Location": f"https://storage.test{request.url.path}"})
        return fake.handle(request)

    [result] = run(httpx.MockTransport(route), [repo()], digests="all")
    assert result.tags is not None and result.tags.digests == {"1": storage.digest("org/app", "1")}


@pytest.mark.parametrize("insecure", [pytest.param(False, id="refused"), pytest.param(True, id="insecure-host")])
def test_an_https_registry_redirecting_to_plain_http_storage(insecure: bool) -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    storage: list[httpx.Request] = []

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "storage.test":
            storage.append(request)
            return httpx.Response(404)
        if "/blobs/" in request.url.path:
            return httpx.Response(302, headers={"Location": f"http://storage.test{request.url.path}"})
        return fake.handle(request)

    settings = RegistrySettings(insecure=frozenset({"storage.test"}) if insecure else frozenset())
    [result] = run(httpx.MockTransport(route), [repo()], digests="all", created=True, settings=settings)
    assert tags_of(result) == ["1"]
    assert len(storage) == (1 if insecure else 0)
    assert all("authorization" not in r.headers for r in storage)


def test_request_deadline_bounds_a_request_with_its_retries() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list",
              *[lambda r: httpx.Response(429, headers={"Retry-After": "4"}, text="busy")] * 10)
    sleeps = Sleeps()
    [result] = run(fake, [repo()], settings=RegistrySettings(request_deadline=10.0), sleeps=sleeps)
    assert result.error is not None and "rate limited (429)" in result.error
    assert sum(sleeps.calls) <= 10.0  # two waits of 4 s fit; a third would end past the deadline
    assert sleeps.calls == [4.0, 4.0]


def test_a_refused_token_stops_that_registry_after_a_few_requests() -> None:
    fake = FakeRegistry(tags={f"org/app{i}": ["1"] for i in range(50)}, auth="bearer", accept_tokens=False)
    other = FakeRegistry(host="ghcr.io", tags={"org/ok": ["3"]})

    def route(request: httpx.Request) -> httpx.Response:
        return (other if request.url.host == "ghcr.io" else fake).handle(request)

    repositories = [repo(f"registry.test/org/app{i}", f"app{i}") for i in range(50)]
    results = run(httpx.MockTransport(route), [*repositories, repo("ghcr.io/org/ok", "ok")], credential=ALICE)
    assert tags_of(results[-1]) == ["3"]
    failed = results[:-1]
    assert all(r.error is not None for r in failed)
    assert all("refused the token" in (r.error or "") and "https://auth.test/token" in (r.error or "")
               for r in failed), {r.error for r in failed}
    assert not any("no credentials are configured" in (r.error or "") for r in failed)
    limit = RegistrySettings().max_connections_per_registry
    assert len(fake.requests) <= 2 * limit  # at most the requests in flight when the first refusal came
    assert len(fake.token_requests) <= limit


def test_an_always_503_registry_gets_a_bounded_number_of_requests() -> None:
    fake = FakeRegistry(tags={f"org/app{i}": ["1"] for i in range(50)})
    for i in range(50):
        fake.fail(f"/v2/org/app{i}/tags/list", *[lambda r: httpx.Response(503, text="down")] * 10)
    sleeps = Sleeps()
    results = run(fake, [repo(f"registry.test/org/app{i}", f"app{i}") for i in range(50)], sleeps=sleeps)
    assert all(r.error is not None and r.retryable for r in results)
    limit = RegistrySettings().max_connections_per_registry
    assert len(fake.requests) <= 3 * limit, len(fake.requests)
    assert any("skipped for the rest of this run" in (r.error or "") for r in results)


def test_oauth2_404_is_remembered_per_realm_and_the_get_carries_the_credentials() -> None:
    fake = FakeRegistry(tags={f"org/app{i}": ["1"] for i in range(3)}, auth="bearer", oauth=False,
                        users={"<token>": "rt-good"})
    identity = Credential(username="<token>", identity_token="rt-good", origin="test")
    results = run(fake, [repo(f"registry.test/org/app{i}", f"app{i}") for i in range(3)], credential=identity)
    assert [tags_of(r) for r in results] == [["1"]] * 3
    assert [r.method for r in fake.token_requests].count("POST") == 1
    gets = [r for r in fake.token_requests if r.method == "GET"]
    assert len(gets) == 3 and all(r.headers["authorization"].startswith("Basic ") for r in gets)


@pytest.mark.parametrize("realm", [
    pytest.param("https://169.254.169.254/token", id="ipv4-metadata"),
    pytest.param("https://169.254.1.1:8443/token", id="ipv4-link-local"),
    pytest.param("https://[fe80::1]/token", id="ipv6-link-local"),
    pytest.param("https://[fd00:ec2::254]/token", id="aws-ipv6-metadata"),
])
def test_a_token_realm_on_a_link_local_address_is_refused(realm: str) -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]}, auth="bearer", realm=realm)
    [result] = run(fake, [repo()], credential=ALICE)
    assert result.error is not None and "link-local" in result.error
    assert fake.token_requests == []
