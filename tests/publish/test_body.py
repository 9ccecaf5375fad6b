"""Pull-request title and body: the table, the why column, downgrade flags, source links, escaping.

Aspects: one row per image per file with old → new, policy and the trace-based reason; a warning
block and a row flag for downgrades; links only to http(s) sources; markdown-breaking characters
escaped; problems listed; a custom body template; title from the commit message.
"""

from __future__ import annotations

import pytest

from imagebot import errors, publish
from imagebot.model.changes import FileProblem
from tests.publish.helpers import automation, changeset, load_scenario, selection


def _data(**kwargs: object) -> publish.TemplateData:
    scenario = load_scenario("multi")
    return publish.template_data(automation(scenario), changeset(scenario), **kwargs)  # type: ignore[arg-type]


def test_body_table() -> None:
    selections = [
        selection("flux-system/podinfo-policy", "ghcr.io/stefanprodan/podinfo", "5.0.3", eligible=4, total=12,
                  rule="semver range '5.0.x'"),
        selection("flux-system/redis", "docker.io/library/redis", "7.2", previous="7.4", downgrade=True),
    ]
    body = publish.render_pull_request_body(_data(
        selections=selections, sources={"ghcr.io/stefanprodan/podinfo": "https://github.com/stefanprodan/podinfo"}))
    assert "imagebot updates 4 images for automation `apps/Fleet`." in body
    assert "| Image | File | Change | Policy | Why this tag |" in body
    assert ("| [`ghcr.io/stefanprodan/podinfo`](https://github.com/stefanprodan/podinfo) | `apps/podinfo.yaml` "
            "| `5.0.2` → `5.0.3` | `flux-system/podinfo-policy` "
            "| semver range '5.0.x': latest of 4 eligible (12 tags scanned) |") in body
    assert "| `docker.io/library/redis` | `apps/podinfo.yaml` | `7.0` → `7.2` ⚠️ **downgrade** |" in body
    assert "> [!WARNING]\n> This pull request **downgrades** `docker.io/library/redis` to `7.2`" in body
    assert "| `flux-system/my-policy` | `apps/helmrelease.yaml` | `4.0.6` → `5.0.3` | `flux-system/my-policy` | — |" in body
    assert body.rstrip().endswith("<!-- imagebot:automation apps/Fleet -->")


@pytest.mark.parametrize("source", [
    pytest.param("javascript:alert(1)", id="javascript"),
    pytest.param("git@github.com:org/repo.git", id="scp-like"),
])
def test_only_http_sources_become_links(source: str) -> None:
    body = publish.render_pull_request_body(_data(sources={"busybox": source}))
    assert source not in body


def test_cells_are_escaped() -> None:
    scenario = load_scenario("single")
    scenario["changes"][0]["file"] = "a|b\nc.yaml"
    data = publish.template_data(automation(scenario), changeset(scenario))
    body = publish.render_pull_request_body(data, problems=[FileProblem("x|y.yaml", 3, "unparsable")])
    assert "`a\\|b c.yaml`" in body
    assert "- `x\\|y.yaml:3: unparsable`" in body


def test_custom_body_template_reuses_the_table() -> None:
    body = publish.render_pull_request_body(_data(), template="Hello {{ AutomationObject }}\n\n{{ table }}")
    assert body.startswith("Hello apps/Fleet\n\n| Image | File |")


def test_custom_body_template_errors_name_the_automation() -> None:
    with pytest.raises(errors.ConfigError, match="automation apps/Fleet: pull request body"):
        publish.render_pull_request_body(_data(), template="{{ nope }}")


@pytest.mark.parametrize(("message", "title"), [
    pytest.param("chore(images): update 2 images\n\nbody", "chore(images): update 2 images", id="first-line"),
    pytest.param("\n  x  \n", "x", id="stripped"),
    pytest.param("", "chore(images): update images", id="empty"),
    pytest.param("t" * 300, "t" * 255 + "…", id="capped"),
])
def test_pull_request_title(message: str, title: str) -> None:
    assert publish.pull_request_title(message) == title


def test_body_is_capped() -> None:
    body = publish.render_pull_request_body(_data(), template="{{ 'x' * 50000 }}{{ 'y' * 11000 }}")
    assert len(body) <= publish.MAX_BODY
    assert body.endswith("(truncated by imagebot)\n")
