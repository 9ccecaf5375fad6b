"""The scan stage against faults a real registry cannot produce (httpx.MockTransport).

Aspects: Link paging and its guards; tags: null; not found; 429 with and without Retry-After;
Docker Hub's pull limit stopping one registry but not others; 5xx with HTML bodies; malformed
JSON; body caps; slow bodies and the overall deadline; Bearer tokens from a realm on another host
(scope, caching, single flight, expiry, wrong credentials); Basic auth; digests with and without
Docker-Content-Digest; exclusions; mirrors; rate-limit budget headers; secrets in messages.
"""

from __future__ import annotations

import httpx
import pytest

from imagebot import scan
from imagebot.model import flux
from imagebot.model.registries import Credential, RegistrySettings
from imagebot.state import StateStore
from tests.fakes.registry import FakeRegistry, SlowStream
from tests.scan.helpers import ALICE, NOW, Sleeps, repo, run, tags_of


def test_link_paging_collects_every_page_and_sorts_descending() -> None:
    fake = FakeRegistry(tags={"org/app": ["1.0.0", "latest", "1.10.0", "0.9", "1.2.0", "1.0.0"]}, page_size=2)
    [result] = run(fake, [repo()])
    assert tags_of(result) == ["latest", "1.2.0", "1.10.0", "1.0.0", "0.9"]
    assert len([r for r in fake.requests if r.url.path.endswith("/tags/list")]) == 3
    assert fake.requests[0].url.params["n"] == "1000"
    assert fake.requests[1].url.params.get("n") is None  # the next link is used verbatim


def test_registry_ignoring_n_returns_everything_in_one_page() -> None:
    fake = FakeRegistry(tags={"org/app": [str(i) for i in range(1500)]})
    [result] = run(fake, [repo()])
    assert len(tags_of(result)) == 1500


def test_cross_origin_next_link_is_refused() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(
        200, json={"tags": ["1"]}, headers={"Link": '<https://evil.test/v2/x>; rel="next"'}))
    [result] = run(fake, [repo()])
    assert result.error is not None
    assert "another origin" in result.error
    assert not any(r.url.host == "evil.test" for r in fake.requests)


def test_page_size_refusal_falls_back_to_smaller_pages() -> None:
    fake = FakeRegistry(tags={"org/app": ["1", "2"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(
        405, json={"errors": [{"code": "UNSUPPORTED", "message": "Member must have value less than or equal to 1000"}]}))
    [result] = run(fake, [repo()])
    assert tags_of(result) == ["2", "1"]
    assert [r.url.params.get("n") for r in fake.requests] == ["1000", "100"]


def test_null_tags_is_an_empty_list() -> None:
    fake = FakeRegistry(tags={"org/app": []})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(200, json={"name": "org/app", "tags": None}))
    [result] = run(fake, [repo()])
    assert tags_of(result) == []


def test_unknown_repository_is_not_found() -> None:
    [result] = run(FakeRegistry(), [repo()])
    assert result.error == "registry registry.test: repository org/app not found (or no access to it)"
    assert not result.retryable


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(b"<html><body><h1>Server Error (500)</h1></body></html>", "text/html",
                     "an HTML page: Server Error (500)", id="html"),
        pytest.param(b"", "text/plain", "an empty body", id="empty"),
        pytest.param(b'{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}', "application/json",
                     "UNAVAILABLE: maintenance", id="oci-error"),
    ],
)
def test_5xx_is_retried_with_backoff_then_reported(body: bytes, content_type: str, expected: str) -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list",
              *[lambda r: httpx.Response(503, content=body, headers={"Content-Type": content_type})] * 4)
    sleeps = Sleeps()
    [result] = run(fake, [repo()], sleeps=sleeps)
    assert result.error == f"registry registry.test: answered 503: {expected}"
    assert result.retryable
    assert len(sleeps.calls) == 3  # four attempts
    assert all(0 <= s <= 30 for s in sleeps.calls)


def test_transient_5xx_then_success() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(502, text="bad gateway"))
    [result] = run(fake, [repo()])
    assert tags_of(result) == ["1"]


def test_retry_after_seconds_is_honoured() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"))
    sleeps = Sleeps()
    [result] = run(fake, [repo()], sleeps=sleeps)
    assert tags_of(result) == ["1"]
    assert sleeps.calls == [7.0]


def test_429_without_retry_after_backs_off() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(429, text="Too Many Requests (HAP429)."))
    sleeps = Sleeps()
    [result] = run(fake, [repo()], sleeps=sleeps)
    assert tags_of(result) == ["1"]
    assert len(sleeps.calls) == 1
    assert sleeps.calls[0] <= 0.5


def test_long_retry_after_blocks_the_registry_for_the_run() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"], "org/two": ["2"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(429, headers={"Retry-After": "3600"}))
    fake.fail("/v2/org/two/tags/list", lambda r: httpx.Response(429, headers={"Retry-After": "3600"}))
    sleeps = Sleeps()
    results = run(fake, [repo(), repo("registry.test/org/two", "two")], sleeps=sleeps)
    assert all(r.error and "rate limited" in r.error for r in results)
    assert sleeps.calls == []


def test_docker_hub_pull_limit_stops_that_registry_but_not_others() -> None:
    hub = FakeRegistry(host="registry-1.docker.io", tags={"library/nginx": ["1"], "library/redis": ["2"]})
    other = FakeRegistry(host="ghcr.io", tags={"org/app": ["3"]})
    limit = lambda r: httpx.Response(
        429, json={"errors": [{"code": "TOOMANYREQUESTS", "message": "You have reached your pull rate limit."}]})
    hub.fail("/v2/library/nginx/tags/list", limit)
    hub.fail("/v2/library/redis/tags/list", limit)

    def route(request: httpx.Request) -> httpx.Response:
        return (hub if request.url.host == hub.host else other).handle(request)

    sleeps = Sleeps()
    results = run(httpx.MockTransport(route),
                  [repo("nginx", "nginx"), repo("redis", "redis"), repo("ghcr.io/org/app", "app")],
                  sleeps=sleeps)
    nginx, redis, app = results
    assert nginx.error is not None and "pull rate limit" in nginx.error
    assert redis.error is not None and "pull rate limit" in redis.error
    assert tags_of(app) == ["3"]
    assert sleeps.calls == []
    assert len(hub.requests) <= 2  # at most one request each, then the registry is skipped


def test_exhausted_rate_limit_budget_skips_further_requests() -> None:
    fake = FakeRegistry(tags={"org/app": ["1", "2"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(
        200, json={"tags": ["1", "2"]}, headers={"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "0;w=21600"}))
    [result] = run(fake, [repo()], digests="all")
    assert tags_of(result) == ["2", "1"]
    assert not any("/manifests/" in r.url.path for r in fake.requests)


def test_malformed_json_is_a_protocol_error_without_retry() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(200, text='{"tags": ['))
    sleeps = Sleeps()
    [result] = run(fake, [repo()], sleeps=sleeps)
    assert result.error == "registry registry.test: tag list of org/app is invalid JSON, not JSON (content-type text/plain)"
    assert sleeps.calls == []


def test_html_instead_of_json() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(200, html="<html>login</html>"))
    [result] = run(fake, [repo()])
    assert result.error is not None and "an HTML page, not JSON" in result.error


def test_tags_of_wrong_type() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(200, json={"tags": "1.0"}))
    [result] = run(fake, [repo()])
    assert result.error == "registry registry.test: 'tags' is not a list of strings"


def test_huge_body_is_capped() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(200, content=b"[" * (9 * 1024 * 1024)))
    [result] = run(fake, [repo()])
    assert result.error is not None and "exceeds the 8388608-byte limit" in result.error


def test_slow_body_hits_the_overall_deadline() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", *[lambda r: httpx.Response(200, stream=SlowStream())] * 4)
    settings = RegistrySettings(request_deadline=0.05)
    [result] = run(fake, [repo()], settings=settings)
    assert result.error is not None and "no complete answer within 0.05s" in result.error
    assert result.retryable


def test_bearer_token_from_a_realm_on_another_host() -> None:
    fake = FakeRegistry(tags={"org/app": ["1.0", "2.0"]}, auth="bearer")
    [result] = run(fake, [repo()], credential=ALICE, digests="all")
    assert tags_of(result) == ["2.0", "1.0"]
    assert len(fake.token_requests) == 1  # cached and shared by the listing and both HEADs
    token_request = fake.token_requests[0]
    assert token_request.url.host == "auth.test"
    assert token_request.url.params.get_list("scope") == ["repository:org/app:pull"]
    assert token_request.url.params["service"] == "registry.test"
    assert token_request.url.params["account"] == "alice"
    assert token_request.headers["authorization"].startswith("Basic ")
    # the password goes to the token realm only, never to the registry
    assert all(not r.headers.get("authorization", "").startswith("Basic ") for r in fake.requests)
    assert result.tags is not None and set(result.tags.digests) == {"1.0", "2.0"}


def test_token_requests_are_single_flight() -> None:
    fake = FakeRegistry(tags={"org/app": [str(i) for i in range(30)]}, auth="bearer")
    fake.requests.clear()
    [result] = run(fake, [repo()], credential=ALICE, digests="all")
    assert result.tags is not None and len(result.tags.digests) == 30
    assert len(fake.token_requests) == 1


def test_revoked_token_is_refetched_once() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]}, auth="bearer")
    listing = fake.handle

    def revoke_after_listing(request: httpx.Request) -> httpx.Response:
        response = listing(request)
        if request.url.path.endswith("/tags/list") and response.status_code == 200:
            fake.issued.clear()  # the registry forgets every token it issued
        return response

    [result] = run(httpx.MockTransport(revoke_after_listing), [repo()], credential=ALICE, digests="all")
    assert result.tags is not None and result.tags.digests.keys() == {"1"}
    assert len(fake.token_requests) == 2


def test_token_server_refusing_credentials_is_an_auth_error_without_retries() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]}, auth="bearer")
    wrong = Credential(username="alice", password="hunter2", origin="secret regcred")
    sleeps = Sleeps()
    [result] = run(fake, [repo()], credential=wrong, sleeps=sleeps)
    assert result.error == "registry registry.test: token server auth.test refused user 'alice' (401)"
    assert "hunter2" not in result.error
    assert len(fake.token_requests) == 1
    assert sleeps.calls == []
    assert not result.retryable


def test_anonymous_token_without_access_is_access_denied() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]}, auth="bearer")
    original = fake._token

    def empty_grant(request: httpx.Request) -> httpx.Response:
        fake.issued.add("anon")
        return httpx.Response(200, json={"token": "anon"})

    fake._token = empty_grant  # type: ignore[method-assign]
    [result] = run(fake, [repo()])
    assert result.error is not None
    assert result.error.startswith("registry registry.test: access denied (insufficient_scope) for anonymous access")
    fake._token = original  # type: ignore[method-assign]


def test_basic_auth_challenge_is_answered_with_credentials() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]}, auth="basic")
    [result] = run(fake, [repo()], credential=ALICE, digests="all")
    assert tags_of(result) == ["1"]
    assert fake.requests[-1].headers["authorization"].startswith("Basic ")
    # the ping taught us the host wants Basic: every API request carries it up front
    assert len(fake.pings) == 1
    assert all(r.headers.get("authorization", "").startswith("Basic ") for r in fake.requests)


def test_basic_auth_with_wrong_password_names_user_not_password() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]}, auth="basic")
    wrong = Credential(username="alice", password="hunter2", origin="secret regcred")
    [result] = run(fake, [repo()], credential=wrong)
    assert result.error == (
        "registry registry.test: credentials for user 'alice' from secret regcred were refused (401)"
    )


def test_basic_auth_without_credentials() -> None:
    [result] = run(FakeRegistry(tags={"org/app": ["1"]}, auth="basic"), [repo()])
    assert result.error is not None and "authentication required and no credentials are configured" in result.error


def test_401_without_challenge_is_an_auth_error() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(401))
    [result] = run(fake, [repo()], credential=ALICE)
    assert result.error is not None and "were refused (401)" in result.error


def test_403_is_access_denied() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/org/app/tags/list", lambda r: httpx.Response(403, json={"errors": [{"code": "DENIED"}]}))
    [result] = run(fake, [repo()], credential=ALICE)
    assert result.error == "registry registry.test: access denied (403) for user 'alice': DENIED"


def test_plain_http_token_realm_is_refused_for_https_registry() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]}, auth="bearer", realm="http://auth.test/token")
    [result] = run(fake, [repo()], credential=ALICE)
    assert result.error is not None and "refusing a plain-http token realm" in result.error
    assert fake.token_requests == []


def test_digest_falls_back_to_hashing_the_manifest() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]}, digests_via_header=False)
    [result] = run(fake, [repo()], digests="all")
    assert result.tags is not None
    assert result.tags.digests == {"1": fake.digest("org/app", "1")}
    heads = [r for r in fake.requests if r.method == "HEAD"]
    assert heads and "application/vnd.oci.image.index.v1+json" in heads[0].headers["accept"]


def test_new_digests_are_resolved_once_and_remembered() -> None:
    fake = FakeRegistry(tags={"org/app": ["1", "2"]})
    with StateStore(":memory:") as state:
        run(fake, [repo()], digests="new", state=state)
        heads_first = sum(r.method == "HEAD" for r in fake.requests)
        fake.tags["org/app"].append("3")
        [second] = run(fake, [repo()], digests="new", state=state)
    assert heads_first == 2
    assert sum(r.method == "HEAD" for r in fake.requests) == 3  # only the new tag
    assert second.tags is not None and set(second.tags.digests) == {"1", "2", "3"}
    assert second.tags.first_seen["1"] == NOW


@pytest.mark.parametrize(
    ("exclusions", "expected"),
    [
        pytest.param(flux.DEFAULT_EXCLUSIONS, ["v1.sig-ok", "1.0"], id="default-drops-sig"),
        pytest.param(("^1",), ["x.sig", "v1.sig-ok"], id="custom-replaces-default"),
    ],
)
def test_exclusion_list(exclusions: tuple[str, ...], expected: list[str]) -> None:
    fake = FakeRegistry(tags={"org/app": ["1.0", "x.sig", "v1.sig-ok"]})
    [result] = run(fake, [repo(exclusion_list=exclusions)])
    assert tags_of(result) == expected


def test_invalid_exclusion_pattern_names_the_repository() -> None:
    [result] = run(FakeRegistry(tags={"org/app": ["1"]}), [repo(exclusion_list=("(",))])
    assert result.error is not None and "ImageRepository ns/app: spec.exclusionList: invalid pattern '('" in result.error


def test_mirror_is_tried_first_and_names_stay_canonical() -> None:
    mirror = FakeRegistry(host="mirror.test", tags={"org/app": ["9"]})
    upstream = FakeRegistry(host="ghcr.io", tags={"org/app": ["1"]})

    def route(request: httpx.Request) -> httpx.Response:
        return (mirror if request.url.host == "mirror.test" else upstream).handle(request)

    settings = RegistrySettings(mirrors={"ghcr.io": ("https://mirror.test",)})
    [result] = run(httpx.MockTransport(route), [repo("ghcr.io/org/app")], settings=settings)
    assert tags_of(result) == ["9"]
    assert result.endpoint == "https://mirror.test"
    assert result.image.name == "ghcr.io/org/app"
    assert upstream.requests == []


def test_failing_mirror_falls_back_to_the_registry() -> None:
    upstream = FakeRegistry(host="ghcr.io", tags={"org/app": ["1"]})

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "mirror.test":
            raise httpx.ConnectError("connection refused")
        return upstream.handle(request)

    settings = RegistrySettings(mirrors={"ghcr.io": ("https://mirror.test",)})
    [result] = run(httpx.MockTransport(route), [repo("ghcr.io/org/app")], settings=settings)
    assert tags_of(result) == ["1"]
    assert result.endpoint == "https://ghcr.io"


def test_unreachable_registry_is_retried_then_reported_without_failing_others() -> None:
    good = FakeRegistry(host="ghcr.io", tags={"org/app": ["1"]})

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "down.test":
            raise httpx.ConnectError("[Errno -2] Name or service not known")
        return good.handle(request)

    sleeps = Sleeps()
    bad, ok = run(httpx.MockTransport(route), [repo("down.test/x", "x"), repo("ghcr.io/org/app")], sleeps=sleeps)
    assert bad.error == "registry down.test: unknown host (DNS lookup failed)"
    assert bad.retryable
    assert tags_of(ok) == ["1"]
    assert len(sleeps.calls) == 3


def test_docker_hub_names_use_the_api_host_and_library_prefix() -> None:
    hub = FakeRegistry(host="registry-1.docker.io", tags={"library/nginx": ["1.27"]})
    [result] = run(hub, [repo("nginx")])
    assert tags_of(result) == ["1.27"]
    assert hub.requests[0].url.path == "/v2/library/nginx/tags/list"
    assert result.image.name == "nginx"


def test_ping_404_means_not_a_registry() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]})
    fake.fail("/v2/", lambda r: httpx.Response(404, text="404 page not found"))
    [result] = run(fake, [repo()])
    assert result.error is not None
    assert "/v2/ answered 404; this is not a registry API endpoint" in result.error
    assert fake.requests == []


def test_plain_http_to_an_https_registry_gets_a_hint() -> None:
    fake = FakeRegistry(host="127.0.0.1:5443", tags={"org/app": ["1"]})
    fake.fail("/v2/", lambda r: httpx.Response(400, text="Client sent an HTTP request to an HTTPS server."))
    [result] = run(fake, [repo("127.0.0.1:5443/org/app")])
    assert result.error == "registry 127.0.0.1:5443 speaks HTTPS; remove `insecure: true` (or the http:// mirror URL)"


def test_one_ping_per_registry_and_unreachable_registries_are_not_retried_per_repository() -> None:
    attempts: list[str] = []

    def route(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        raise httpx.ConnectError("connection refused")

    sleeps = Sleeps()
    results = run(httpx.MockTransport(route), [repo("down.test/a", "a"), repo("down.test/b", "b")], sleeps=sleeps)
    assert all(r.error == "registry down.test: cannot connect (connection refused)" for r in results)
    assert len(attempts) == 4  # one retried ping; the second repository finds the host blocked


def test_basic_auth_state_of_one_repository_does_not_leak_into_another() -> None:
    fake = FakeRegistry(tags={"org/public": ["1"], **{f"org/app{i}": [str(i)] for i in range(6)}}, auth="basic")
    repositories = [repo("registry.test/org/public", "public")] + [
        repo(f"registry.test/org/app{i}", f"app{i}") for i in range(6)
    ]
    results = scan.scan_all(
        repositories,
        credentials=lambda host, path, ref: None if path == "org/public" else ALICE,
        transport=fake.transport(), sleep=Sleeps(), now=NOW,
        options=scan.ScanOptions(digests="none"),
    )
    assert results[0].error is not None and "no credentials are configured" in results[0].error
    assert [tags_of(r) for r in results[1:]] == [[str(i)] for i in range(6)]


@pytest.mark.parametrize("oauth", [pytest.param(True, id="oauth2-post"), pytest.param(False, id="post-404-falls-back-to-get")])
def test_identity_token_uses_the_oauth2_refresh_flow(oauth: bool) -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]}, auth="bearer", oauth=oauth)
    identity = Credential(username="<token>", identity_token="rt-good", origin="test")
    [result] = run(fake, [repo()], credential=identity)
    posts = [r for r in fake.token_requests if r.method == "POST"]
    assert len(posts) == 1
    form = posts[0].content.decode()
    assert "grant_type=refresh_token" in form and "refresh_token=rt-good" in form
    assert "scope=repository%3Aorg%2Fapp%3Apull" in form
    if oauth:
        assert tags_of(result) == ["1"]
        assert [r.method for r in fake.token_requests] == ["POST"]
    else:
        assert [r.method for r in fake.token_requests] == ["POST", "GET"]
    # the refresh token only ever goes to the token realm, never to the registry
    assert all("rt-good" not in r.headers.get("authorization", "") for r in fake.requests)
