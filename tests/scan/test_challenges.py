"""WWW-Authenticate parsing: several challenges, quoting, case, unknown schemes (protocol §3)."""

from __future__ import annotations

import pytest

from imagebot.scan._challenges import Challenge, parse_challenges, pick_challenge


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io"'],
            [("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io"})],
            id="docker-hub",
        ),
        pytest.param(
            ['Bearer realm="https://codeberg.org/v2/token",service="container_registry",scope="*",'
             'Basic realm="https://codeberg.org/v2",service="container_registry",scope="*"'],
            [("bearer", {"realm": "https://codeberg.org/v2/token", "service": "container_registry", "scope": "*"}),
             ("basic", {"realm": "https://codeberg.org/v2", "service": "container_registry", "scope": "*"})],
            id="two-challenges-one-line",
        ),
        pytest.param(
            ['Basic realm="Acme \\"Prod\\", EU, scope=x"'],
            [("basic", {"realm": 'Acme "Prod", EU, scope=x'})],
            id="quoted-commas-and-escapes",
        ),
        pytest.param(
            ['BEARER Realm = "https://r/t" , SERVICE="s",'],
            [("bearer", {"realm": "https://r/t", "service": "s"})],
            id="case-whitespace-trailing-comma",
        ),
        pytest.param(
            ["Bearer realm=https://quay.io/v2/auth,service=quay.io"],
            [("bearer", {"realm": "https://quay.io/v2/auth", "service": "quay.io"})],
            id="unquoted-url-values",
        ),
        pytest.param(
            ["Negotiate abc==", 'Basic realm="r"'],
            [("negotiate", {}), ("basic", {"realm": "r"})],
            id="token68-and-several-lines",
        ),
        pytest.param(
            ['Bearer realm="r",service="s",scope="repository:a/b:pull repository:c:pull",error="insufficient_scope"'],
            [("bearer", {"realm": "r", "service": "s", "scope": "repository:a/b:pull repository:c:pull",
                         "error": "insufficient_scope"})],
            id="scopes-and-error",
        ),
        pytest.param([""], [], id="empty"),
    ],
)
def test_parse(headers: list[str], expected: list[tuple[str, dict[str, str]]]) -> None:
    assert parse_challenges(headers) == [Challenge(s, p) for s, p in expected]


@pytest.mark.parametrize(
    ("headers", "scheme"),
    [
        pytest.param(['Basic realm="x", Bearer realm="y"'], "bearer", id="bearer-preferred"),
        pytest.param(['Basic realm="x"'], "basic", id="basic-only"),
        pytest.param(["NTLM", "Negotiate"], None, id="unsupported"),
    ],
)
def test_pick(headers: list[str], scheme: str | None) -> None:
    picked = pick_challenge(parse_challenges(headers))
    assert (picked.scheme if picked else None) == scheme
