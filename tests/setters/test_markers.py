"""The marker grammar (flux-semantics §5.1): what is a marker, what each suffix writes, and why
a comment that mentions ``$imagepolicy`` is not a marker."""

from __future__ import annotations

import pytest

from imagebot import setters
from imagebot.model.ids import ObjectKey


@pytest.mark.parametrize(
    ("comment", "setter", "field"),
    [
        pytest.param('# {"$imagepolicy": "flux-system:app"}', "flux-system:app", "ref", id="full"),
        pytest.param('# {"$imagepolicy": "ns:app:tag"}', "ns:app:tag", "tag", id="tag"),
        pytest.param('# {"$imagepolicy": "ns:app:name"}', "ns:app:name", "name", id="name"),
        pytest.param('# {"$imagepolicy": "ns:app:digest"}', "ns:app:digest", "digest", id="digest"),
        pytest.param('#{"$imagepolicy":"ns:app"}', "ns:app", "ref", id="no-spaces"),
        pytest.param('## {"$imagepolicy": "ns:app"}', "ns:app", "ref", id="double-hash"),
        pytest.param('# { "$imagepolicy" : "ns:app" }  ', "ns:app", "ref", id="loose-spacing"),
        pytest.param('# {"$imagepolicy": "ns:app", "note": "x"}', "ns:app", "ref", id="extra-key"),
        pytest.param('# {"$imagepolicy": "ns:app"}\r', "ns:app", "ref", id="crlf-tail"),
    ],
)
def test_valid_markers(comment: str, setter: str, field: str) -> None:
    marker = setters.parse_marker(comment)
    assert isinstance(marker, setters.Marker)
    assert (marker.setter, marker.field) == (setter, field)
    assert marker.policy == ObjectKey(*setter.split(":")[:2])


@pytest.mark.parametrize(
    ("comment", "reason"),
    [
        pytest.param("# {'$imagepolicy': 'ns:app'}", "JSON", id="single-quotes"),
        pytest.param('# {"$imagepolicy": "ns:app"} pinned', "JSON", id="text-after-brace"),
        pytest.param('# {"$imagepolicy": "ns:app", "n": 1}', "string", id="non-string-value"),
        pytest.param('# ["$imagepolicy", "ns:app"]', "JSON object", id="array"),
        pytest.param('# {"$imagepolicy": ""}', "no", id="empty"),
        pytest.param('# {"$imagepolicy": "app"}', "namespace", id="no-namespace"),
        pytest.param('# {"$imagepolicy": ":app"}', "namespace", id="empty-namespace"),
        pytest.param('# {"$imagepolicy": "ns:app:tag:x"}', "namespace", id="four-parts"),
        pytest.param('# {"$imagepolicy": "ns:app:version"}', "suffix", id="unknown-suffix"),
    ],
)
def test_not_markers(comment: str, reason: str) -> None:
    result = setters.parse_marker(comment)
    assert isinstance(result, str)
    assert reason in result
