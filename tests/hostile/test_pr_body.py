"""Registry-controlled strings in pull-request bodies: a source label, a tag or a digest can never
add Markdown structure (headings, HTML, images) to the body; only clean http(s) URLs are linked."""

from __future__ import annotations

import pytest

from imagebot import publish
from tests.publish.helpers import automation, changeset, load_scenario, selection

IMAGE = "ghcr.io/stefanprodan/podinfo"


def body_with_source(source: str) -> str:
    scenario = load_scenario("multi")
    chosen = [selection("flux-system/podinfo-policy", IMAGE, "5.0.3")]
    data = publish.template_data(automation(scenario), changeset(scenario), selections=chosen,
                                 sources={IMAGE: source})
    return publish.render_pull_request_body(data)


@pytest.mark.parametrize("source", [
    pytest.param("https://github.com/org/app\n\n# Owned\n<img src=https://evil.example/x.png>", id="newlines"),
    pytest.param("https://github.com/org/app\t<img src=x onerror=alert(1)>", id="tab-and-html"),
    pytest.param("https://github.com/org/app\r\n## Heading", id="crlf"),
    pytest.param("https://github.com/org/app)<img src=x>", id="closing-paren"),
    pytest.param("https://evil.example/<script>", id="angle-brackets"),
    pytest.param("https://", id="no-host"),
])
def test_a_hostile_source_label_never_adds_structure(source: str) -> None:
    body = body_with_source(source)
    assert "<img" not in body and "<script" not in body
    assert not any(line.lstrip().startswith("#") for line in body.splitlines())
    assert f"`{IMAGE}`" in body  # the image is still listed, just not linked
    assert f"[`{IMAGE}`](" not in body


def test_a_clean_source_url_is_linked() -> None:
    body = body_with_source("https://github.com/stefanprodan/podinfo")
    assert f"[`{IMAGE}`](https://github.com/stefanprodan/podinfo)" in body


def test_a_custom_body_template_never_sees_a_hostile_source() -> None:
    scenario = load_scenario("multi")
    data = publish.template_data(automation(scenario), changeset(scenario),
                                 selections=[selection("flux-system/podinfo-policy", IMAGE, "5.0.3")],
                                 sources={IMAGE: "https://x.example/\n# Owned"})
    body = publish.render_pull_request_body(data, template="{% for i in images %}[{{ i.source }}]{% endfor %}")
    assert "Owned" not in body and "[<nil>]" in body  # printed the way Go prints a nil


def test_html_in_the_why_column_is_escaped() -> None:
    scenario = load_scenario("multi")
    chosen = [selection("flux-system/podinfo-policy", IMAGE, "5.0.3", rule="<img src=x>")]
    body = publish.render_pull_request_body(
        publish.template_data(automation(scenario), changeset(scenario), selections=chosen))
    assert "<img" not in body and "&lt;img src=x&gt;" in body
