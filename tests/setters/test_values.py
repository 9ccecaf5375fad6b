"""Spelling new values: quote style kept, YAML 1.1 type safety for plain scalars (§5.2), and the
validation that keeps arbitrary text from being spliced into YAML."""

from __future__ import annotations

import pytest

from imagebot import setters, yamldoc
from imagebot.model.ids import Digest, Tag
from imagebot.model.images import ImageRef
from imagebot.setters import _values


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(v, id=v or "empty")
        for v in ("3.20", "1606364286", "true", "True", "yes", "no", "on", "OFF", "y", "N",
                  "null", "Null", "~", "1e3", ".5", "08", "0x1F", "0o17", "+1", "1_000", ".inf",
                  "-.Inf", ".NaN", "2021-01-08", "2021-01-08T10:00:00Z", "<<", "=", "")
    ],
)
def test_values_that_would_not_read_back_as_strings_are_quoted(value: str) -> None:
    assert setters.needs_quotes(value, flow=False)
    assert _values.spell(value, style="plain", flow=False) == f'"{value}"'


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(v, id=v)
        for v in ("1.2.3", "v1", "2024.02.01", "1:20", "latest", "v2.0.0-rc.1", "6.7.1",
                  "ghcr.io/org/app:1.0", "sha256:" + "a" * 64, "localhost:5000/app:1.0", "yellow",
                  "1.2.3-1", "nightly-2021-01-08")
    ],
)
def test_ordinary_values_stay_plain(value: str) -> None:
    assert not setters.needs_quotes(value, flow=False)
    assert _values.spell(value, style="plain", flow=False) == value


@pytest.mark.parametrize(
    ("value", "flow", "quoted"),
    [
        pytest.param("a, b", True, True, id="comma-in-flow"),
        pytest.param("a,b", False, False, id="comma-in-block"),
        pytest.param("[::1]:5000/app", False, True, id="leading-bracket"),
        pytest.param("a #b", False, True, id="comment-start"),
        pytest.param("a: b", False, True, id="mapping-indicator"),
        pytest.param("-x", False, True, id="leading-dash"),
        pytest.param(" a", False, True, id="leading-space"),
    ],
)
def test_values_that_are_not_valid_plain_scalars(value: str, flow: bool, quoted: bool) -> None:
    assert setters.needs_quotes(value, flow=flow) is quoted


@pytest.mark.parametrize(
    ("style", "value", "spelled"),
    [
        pytest.param("single", "3.20", "'3.20'", id="single-keeps-single"),
        pytest.param("single", "it's", "'it''s'", id="single-escapes"),
        pytest.param("double", "v1", '"v1"', id="double-keeps-double"),
        pytest.param("double", 'a"b\\c', '"a\\"b\\\\c"', id="double-escapes"),
    ],
)
def test_quote_style_is_kept(style: yamldoc.ScalarStyle, value: str, spelled: str) -> None:
    assert _values.spell(value, style=style, flow=False) == spelled
    (scalar,) = yamldoc.locate_scalars(f"k: {spelled}\n")
    assert scalar.value == value


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param(ImageRef("ghcr.io/org/app", Tag("1.0\n")), id="newline-in-tag"),
        pytest.param(ImageRef("ghcr.io/org/app", Tag("1.0 # x")), id="comment-in-tag"),
        pytest.param(ImageRef("ghcr.io/org/app", Tag("")), id="empty-tag"),
        pytest.param(ImageRef("ghcr.io/Org/App", Tag("1.0")), id="uppercase-path"),
        pytest.param(ImageRef("ghcr.io/org/app", Tag("1.0"), Digest("sha256:xyz")), id="bad-digest"),
    ],
)
def test_invalid_references_are_refused(ref: ImageRef) -> None:
    with pytest.raises(ValueError, match="invalid"):
        setters.check_ref(ref)


def test_wanted_parts() -> None:
    ref = ImageRef("ghcr.io/org/app", Tag("1.0"), Digest("sha256:" + "f" * 64))
    assert _values.wanted(ref, "ref") == f"ghcr.io/org/app:1.0@sha256:{'f' * 64}"
    assert _values.wanted(ref, "tag") == "1.0"
    assert _values.wanted(ref, "name") == "ghcr.io/org/app"
    assert _values.wanted(ref, "digest") == "sha256:" + "f" * 64
    assert _values.wanted(ImageRef("app", Tag("1")), "digest") is None
