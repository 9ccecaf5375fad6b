"""The registry protocol defects of the conformance run (issue 10), each against a fake that
reproduces it (httpx.MockTransport) where a real registry cannot.

Aspects: token servers that do not answer are named by URL; redirects (at most 5 hops, no
https→http downgrade); requestDeadline bounds a request with its retries; refused tokens and
always-503 registries make a small, counted number of requests; OAuth2 404 remembered per realm
with the credentials sent on the GET; link-local token realms refused.
"""

from __future__ import annotations

import httpx

from tests.fakes.registry import FakeRegistry
from tests.scan.helpers import ALICE, repo, run


def test_a_token_server_that_never_answers_is_named_by_its_url() -> None:
    fake = FakeRegistry(tags={"org/app": ["1"]}, auth="bearer")

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            raise httpx.ConnectTimeout("timed out")
        return fake.handle(request)

    [result] = run(httpx.MockTransport(route), [repo()], credential=ALICE)
    assert result.error is not None
    assert result.error.startswith("registry registry.test: token server https://auth.test/token: timed out")
