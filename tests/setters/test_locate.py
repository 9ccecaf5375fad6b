"""``yamldoc.locate_scalars``: the positions setters splice at. Offsets must point exactly at the
scalar text (quotes included, anchors/tags excluded) in the str given, BOM and CRLF included."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml.error import YAMLError

from imagebot import yamldoc


def _spans(text: str) -> list[tuple[tuple[yamldoc.PathKey, ...], str, int, str]]:
    return [(s.path, text[s.start : s.end], s.line, s.style) for s in yamldoc.locate_scalars(text)]


def test_values_not_keys_with_paths_lines_and_styles() -> None:
    text = "a: 1\nb:\n  - 'x'\n  - \"y\"\n  - {c: d}\ne: |\n  z\n"
    assert _spans(text) == [
        (("a",), "1", 1, "plain"),
        (("b", 0), "'x'", 3, "single"),
        (("b", 1), '"y"', 4, "double"),
        (("b", 2, "c"), "d", 5, "plain"),
        (("e",), "|\n  z\n", 8, "literal"),
    ]


def test_anchor_and_tag_are_not_part_of_the_scalar_and_aliases_are_skipped() -> None:
    text = "a: &x !!str 'v' # c\nb: *x\nc: &y\n  # between\n  w\n"
    assert _spans(text) == [(("a",), "'v'", 1, "single"), (("c",), "w", 5, "plain")]
    assert yamldoc.locate_scalars(text)[0].tag == "tag:yaml.org,2002:str"


def test_offsets_count_a_bom_and_crlf() -> None:
    text = "\ufeffa: 1\r\nb: 'x'\r\n"
    assert _spans(text) == [(("a",), "1", 1, "plain"), (("b",), "'x'", 2, "single")]


@pytest.mark.parametrize(
    ("text", "offset", "line"),
    [
        pytest.param("tag: # m\nx: 1\n", 4, 1, id="mapping-value"),
        pytest.param("tag:    # m\n", 4, 1, id="several-spaces"),
        pytest.param("- x\n-   # m\n", 5, 2, id="sequence-item"),
    ],
)
def test_empty_plain_values_sit_after_their_indicator(text: str, offset: int, line: int) -> None:
    empty = next(s for s in yamldoc.locate_scalars(text) if s.value == "")
    assert (empty.start, empty.end, empty.line) == (offset, offset, line)


def test_documents_flow_and_complex_keys() -> None:
    text = "--- a\n---\n? [k, {x: y}]\n: v\nf: [1, {g: h}]\n"
    found = yamldoc.locate_scalars(text)
    assert [(s.document, s.path, s.value, s.flow) for s in found] == [
        (0, (), "a", False),
        (1, ("?",), "v", False),
        (1, ("f", 0), "1", True),
        (1, ("f", 1, "g"), "h", True),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("a: [b\n", 2, id="unclosed-flow"),
        pytest.param("a: b\n c: d\n", 2, id="bad-indent"),
        pytest.param("a: b\x07\n", 1, id="control-character"),
    ],
)
def test_syntax_errors_carry_the_line(text: str, line: int) -> None:
    with pytest.raises(yamldoc.YAMLSyntaxError) as exc:
        yamldoc.locate_scalars(text)
    assert exc.value.line == line


def _samples() -> list[pytest.ParameterSet]:
    root = Path(__file__).resolve().parent
    corpus = root.parents[1] / ".." / "shared" / "corpus"
    paths = sorted((root / "golden").rglob("*.y*ml"))
    if corpus.is_dir():
        paths += sorted(p for p in corpus.rglob("*") if p.suffix in (".yaml", ".yml"))
    return [pytest.param(p, id=p.name if "golden" in p.parts else f"corpus-{p.parent.name}-{p.name}")
            for p in paths]


@pytest.mark.parametrize("path", _samples())
def test_libyaml_fast_path_locates_exactly_what_the_pure_parser_does(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", "replace")
    try:
        reference = yamldoc._locate(text, pure=True)
    except YAMLError:
        with pytest.raises(yamldoc.YAMLSyntaxError):
            yamldoc.locate_scalars(text)
        return
    assert yamldoc.locate_scalars(text) == reference
