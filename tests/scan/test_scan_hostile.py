"""The scan stage against hostile or broken registries (issue 15): one repository's trouble stays
that repository's, and nothing a registry sends reaches a terminal raw.

Aspects: tags outside the OCI tag grammar (control characters, path tricks, 10,000 characters)
dropped with one warning per repository; an unexpected exception in one repository reported for
it while the others complete; ``maxTags``; a registry that dies while digests are resolved gives
one warning per repository, not one per tag.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from imagebot.model.registries import RegistrySettings
from tests.fakes.registry import FakeRegistry
from tests.scan.helpers import repo, run, tags_of

HOSTILE = ["1.0.1\r\n", "~/../../x", "a" * 10_000, "\x1b[31mred", "\u009b2J", ".hidden", "-x", "a" * 129, ""]


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_tags_outside_the_oci_grammar_are_dropped_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeRegistry(tags={"org/app": ["1.0.0", "a" * 128, "_x", *HOSTILE], "org/ok": ["2.0.0"]})
    with caplog.at_level(logging.WARNING, logger="imagebot"):
        app, ok = run(fake, [repo(), repo("registry.test/org/ok", "ok")], digests="all")
    assert tags_of(app) == ["a" * 128, "_x", "1.0.0"]
    assert app.tags is not None and set(app.tags.digests) == {"1.0.0", "a" * 128, "_x"}
    assert tags_of(ok) == ["2.0.0"]
    [warning] = _warnings(caplog)
    assert "org/app" in warning and f"{len(HOSTILE)} tags" in warning and "OCI tag grammar" in warning
    assert warning.isprintable()
    assert "\\r\\n" in warning  # shown escaped
    assert len(warning) < 400
    # no request was built from a hostile tag
    assert all(r.url.path.rsplit("/", 1)[-1] in {"list", "1.0.0", "a" * 128, "_x", "2.0.0"} for r in fake.requests)


def test_an_unexpected_error_in_one_repository_is_reported_for_it_alone() -> None:
    good = FakeRegistry(host="ghcr.io", tags={"org/app": ["1"]})

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "broken.test":
            raise ValueError("a bug\x1b[2J\nsomewhere")
        return good.handle(request)

    bad, ok = run(httpx.MockTransport(route), [repo("broken.test/x", "x"), repo("ghcr.io/org/app")])
    assert bad.error is not None
    assert bad.error.startswith("internal error while scanning: ValueError: a bug")
    assert bad.error.isprintable()
    assert tags_of(ok) == ["1"]


def test_too_many_tags_fails_that_repository_with_the_setting_to_raise() -> None:
    fake = FakeRegistry(tags={"org/app": [str(i) for i in range(6)], "org/ok": ["1"]}, page_size=2)
    app, ok = run(fake, [repo(), repo("registry.test/org/ok", "ok")], settings=RegistrySettings(max_tags=5))
    assert app.error == "registry registry.test: org/app has more than 5 tags; raise maxTags in RegistrySettings"
    assert len([r for r in fake.requests if r.url.path == "/v2/org/app/tags/list"]) == 3  # stops at the cap
    assert tags_of(ok) == ["1"]


def test_a_registry_dying_while_digests_are_resolved_warns_once_per_repository(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeRegistry(tags={"org/app": [f"1.0.{i}" for i in range(300)], "org/two": [f"2.0.{i}" for i in range(50)]})

    def route(request: httpx.Request) -> httpx.Response:
        if "/manifests/" in request.url.path:
            raise httpx.ConnectError("connection refused")
        return fake.handle(request)

    with caplog.at_level(logging.WARNING, logger="imagebot"):
        app, two = run(httpx.MockTransport(route), [repo(), repo("registry.test/org/two", "two")], digests="all")
    assert len(tags_of(app)) == 300 and len(tags_of(two)) == 50
    assert app.tags is not None and app.tags.digests == {}
    warnings = _warnings(caplog)
    assert len(warnings) == 2, warnings
    [for_app] = [w for w in warnings if "org/app" in w]
    assert "no digest for 300 tags" in for_app and "cannot connect" in for_app


def test_every_error_is_one_printable_line() -> None:
    # an exclusion pattern (user input) echoed by the regex engine, newline and ESC included
    fake = FakeRegistry(tags={"org/app": ["1"], "org/ok": ["2"]})
    bad, ok = run(fake, [repo(exclusion_list=("(\n\x1b",)), repo("registry.test/org/ok", "ok")])
    assert bad.error is not None and bad.error.isprintable() and "spec.exclusionList" in bad.error
    assert tags_of(ok) == ["2"]
