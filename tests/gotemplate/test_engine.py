"""The Go template engine below the stages: any data model, Go's two missingkey behaviours."""

from __future__ import annotations

import pytest

from imagebot import errors, gotemplate


def _go(template: str, data: dict[str, object], missing: gotemplate.MissingKey = "error") -> str:
    return gotemplate.render(gotemplate.convert(template), {"_root": data}, what="t", missing=missing)


def test_fields_of_any_mapping_are_read_through_the_root() -> None:
    data = {"path": {"basename": "web", "segments": ["apps", "web"]}, "values": {"env": "dev"}}
    assert _go("{{.path.basename}}-{{index .path.segments 0}}-{{.values.env}}", data) == "web-apps-dev"


def test_a_missing_key_prints_no_value_by_default_as_go_does() -> None:
    assert _go("[{{.nope}}]", {}, missing="default") == "[<no value>]"


def test_a_missing_key_is_an_error_with_missingkey_error() -> None:
    with pytest.raises(errors.ConfigError, match="nope"):
        _go("{{.nope}}", {})


def test_a_field_of_a_missing_key_is_an_error_even_by_default() -> None:
    with pytest.raises(errors.ConfigError):
        _go("{{.nope.deeper}}", {}, missing="default")


def test_functions_outside_the_model_are_refused() -> None:
    model = gotemplate.DataModel(functions={})
    with pytest.raises(errors.ConfigError, match="'upper' is not supported"):
        gotemplate.convert("{{upper .x}}", model)
