"""Flux compatibility: every documented Flux messageTemplate renders to the text Flux produces.

Aspects: the golden files under ``data/flux_templates`` (templates copied verbatim from Flux's
documentation and guides, expected text produced by ``data/flux_reference/main.go`` — Go
text/template + Sprig's hermetic functions over Flux's own types), for a one-change and a
many-file scenario; Go templates are detected and converted automatically; removed v1beta fields
and unsupported constructs are ConfigErrors naming the automation and the line.
"""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from imagebot import errors, publish
from imagebot.model.ids import ObjectKey
from tests.publish.helpers import TEMPLATES, automation, changeset, load_scenario

FIXTURES = sorted(path.stem for path in TEMPLATES.glob("*.yaml"))
SCENARIOS = ("single", "multi")


def _find(node: object, key: str) -> object:
    if isinstance(node, dict):
        if key in node:
            return node[key]
        for value in node.values():
            found = _find(value, key)
            if found is not None:
                return found
    return None


def _fixture(name: str) -> tuple[str, dict[str, str] | None]:
    document = YAML(typ="safe").load((TEMPLATES / f"{name}.yaml").read_text())
    template = _find(document, "messageTemplate")
    values = _find(document, "messageTemplateValues")
    assert isinstance(template, str)
    return template, dict(values) if isinstance(values, dict) else None


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s) for s in SCENARIOS])
@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in FIXTURES])
def test_flux_template_renders_like_flux(name: str, scenario: str) -> None:
    template, values = _fixture(name)
    data_in = load_scenario(scenario)
    data = publish.template_data(automation(data_in), changeset(data_in),
                                 values=values if values is not None else data_in["values"])
    expected = (TEMPLATES / f"{name}.{scenario}.expected").read_text()
    assert publish.render_commit_message(template, data) == expected


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in FIXTURES if n != "spec-plain"])
def test_documented_templates_are_detected_as_go(name: str) -> None:
    template, _ = _fixture(name)
    assert publish.looks_like_go_template(template)


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in FIXTURES])
def test_converted_template_is_stable_jinja(name: str) -> None:
    """The conversion is Jinja2 that is no longer Go, so converting is applied exactly once."""
    template, _ = _fixture(name)
    converted = publish.convert_flux_template(template)
    assert not publish.looks_like_go_template(converted) or converted == template


@pytest.mark.parametrize(("template", "message"), [
    pytest.param("{{ range .Updated.Images }}{{ . }}{{ end }}", "removed '.Updated' field", id="updated"),
    pytest.param("{{ .Changed.ImageResult }}", "removed '.Changed.ImageResult'", id="image-result"),
    pytest.param("{{ define \"x\" }}y{{ end }}", "not supported", id="define"),
    pytest.param("{{ .X | env }}", "function 'env' is not supported", id="env-function"),
    pytest.param("{{ range .Changed.Changes }}", "no matching {{end}}", id="unclosed-range"),
    pytest.param("a\n{{ $x }}", "line 2: undefined variable $x", id="undefined-variable"),
    pytest.param("{{ .Values }}{{ .X ", "unclosed action", id="unclosed-action"),
    pytest.param("{{ end }}", "unexpected {{end}}", id="stray-end"),
    pytest.param("{{ $x := 1 }}{{ range .Changed.Changes }}{{ $x = 2 }}{{ end }}", "namespace()",
                 id="assign-in-range"),
])
def test_unconvertible_templates_are_config_errors(template: str, message: str) -> None:
    data = publish.template_data(ObjectKey("flux-system", "apps"), changeset(load_scenario("single")))
    with pytest.raises(errors.ConfigError) as info:
        publish.render_commit_message(template, data)
    assert str(info.value).startswith("automation flux-system/apps: commit message template: ")
    assert message in str(info.value)


def test_missing_field_is_a_config_error_not_no_value() -> None:
    """Go prints ``<no value>`` for a missing map key; imagebot refuses to commit that text."""
    data = publish.template_data(ObjectKey("flux-system", "apps"), changeset(load_scenario("single")))
    with pytest.raises(errors.ConfigError, match=r"flux-system/apps.*'nope'"):
        publish.render_commit_message("cluster {{ .Values.nope }}", data)
