"""``host:port`` colons in flow collections: libyaml (YAML 1.1) rejects
``spec: {image: localhost:5000/app}``, the pure YAML 1.2 parser reads it as text. Before the
slow pure parser, ``yamldoc`` lets libyaml read the text with such colons marked and puts them
back; the result must be exactly the pure parser's, or the pure parser must decide (timestamps,
a text holding the marker character).
"""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from imagebot import yamldoc

MARKED = [
    pytest.param("spec: {image: localhost:5000/app, interval: 5m}\n", id="registry-port"),
    pytest.param("a: {b: 127.0.0.1:35587/x}\n---\nc: [d:1, 'e:2', \"f:3\"]\n", id="documents-quotes"),
    pytest.param('spec: {"port":5000, b: h:1}\n', id="json-like-colon-is-an-indicator"),
    pytest.param("t: {x: 12:30, y: 1:2:3, z: 0x1:2}\n", id="sexagesimal-is-text-in-1.2"),
    pytest.param("k: {a:1, host:5000: v}\n", id="keys"),
    pytest.param("k: {a: x:1}\nblock: y:2\nlist:\n  - z:3\n", id="block-context-too"),
]


def _pure(text: str) -> list[object]:
    return list(YAML(typ="safe", pure=True).load_all(text))


@pytest.mark.parametrize("text", MARKED)
def test_marked_colons_read_as_the_pure_parser_reads_them(text: str) -> None:
    assert yamldoc._load_marked(text) is not None  # libyaml read it
    assert yamldoc.load_all_plain(text) == _pure(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("when: {at: 2024-01-01T10:00:00Z, h: x:1}\n", id="timestamp"),
        pytest.param("when: {at: 2024-01-01 10:00:00, h: x:1}\n", id="spaced-timestamp"),
        pytest.param("a: {b: x:1, c: \ue000}\n", id="marker-in-text"),
    ],
)
def test_the_pure_parser_decides_what_marking_could_change(text: str) -> None:
    assert yamldoc._load_marked(text) is None
    assert yamldoc.load_all_plain(text) == _pure(text)


def test_an_error_is_still_the_pure_parsers() -> None:
    with pytest.raises(yamldoc.YAMLSyntaxError) as caught:
        yamldoc.load_all_plain("a: {b: x:1\nc: [")
    assert caught.value.line >= 1
