"""Link headers for tag paging: relative/absolute targets, opaque cursors, several rels (§8.1)."""

from __future__ import annotations

import pytest

from imagebot.scan._links import next_link, same_origin

BASE = "https://r.test/v2/org/app/tags/list?n=1000"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(['</v2/org/app/tags/list?last=b&n=2>; rel="next"'],
                     "https://r.test/v2/org/app/tags/list?last=b&n=2", id="relative"),
        pytest.param(["<https://r.test/v2/x?next_page=a%2Bb%3D>; rel=next"],
                     "https://r.test/v2/x?next_page=a%2Bb%3D", id="absolute-opaque-verbatim"),
        pytest.param(['<https://r.test/p>; rel="prev", <https://r.test/n>; type="a,b"; REL="next"'],
                     "https://r.test/n", id="several-links-quoted-comma-case"),
        pytest.param(['<https://r.test/p>; rel="prev"', '<https://r.test/n>; rel="next last"'],
                     "https://r.test/n", id="several-headers-rel-list"),
        pytest.param(['<https://r.test/p>; rel="prev"'], None, id="no-next"),
        pytest.param([], None, id="no-header"),
    ],
)
def test_next_link(headers: list[str], expected: str | None) -> None:
    assert next_link(headers, BASE) == expected


def test_same_origin() -> None:
    assert same_origin("https://r.test/a", "https://r.test:443/b".replace(":443", ""))
    assert not same_origin("https://r.test/a", "https://evil.test/a")
    assert not same_origin("https://r.test/a", "http://r.test/a")
    assert not same_origin("https://r.test:5000/a", "https://r.test/a")
