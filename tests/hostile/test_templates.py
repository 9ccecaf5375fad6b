"""Hostile commit-message templates: whoever writes ``policies/`` cannot make a run allocate
without bound or spin forever. Each abuse is a ConfigError naming the automation, raised before
the damage (widths are refused before padding, loops stop at a step budget)."""

from __future__ import annotations

import pytest

from imagebot import errors, publish
from imagebot.model.changes import ChangeSet
from imagebot.model.ids import ObjectKey

DATA = publish.template_data(ObjectKey("flux-system", "apps"), ChangeSet())


def render(template: str) -> str:
    return publish.render_commit_message(template, DATA)


@pytest.mark.parametrize("template", [
    pytest.param("{{ printf('%300000000s', 'x') }}", id="go-printf-width"),
    pytest.param("{{ printf('%*s', 300000000, 'x') }}", id="go-printf-star-width"),
    pytest.param("{{ printf('%.300000000v', 'x') }}", id="go-printf-precision"),
    pytest.param("{{ '%300000000s' % 'x' }}", id="percent-operator"),
    pytest.param("{{ '%-300000000d' % 1 }}", id="percent-operator-flags"),
    pytest.param("{{ '%300000000s'|format('x') }}", id="format-filter"),
    pytest.param("{{ '{:>300000000}'.format('x') }}", id="str-format"),
    pytest.param("{{ '{0:{1}}'.format('x', 300000000) }}", id="str-format-nested-width"),
    pytest.param("{{ 'x'|center(300000000) }}", id="center-filter"),
    pytest.param("{{ 'x'.ljust(300000000) }}", id="ljust-method"),
    pytest.param("{{ 'x'|indent(300000000, true) }}", id="indent-filter"),
    pytest.param("{% set s = 'x' * 100000 %}{{ range(100000)|join(s) }}", id="join-filter"),
    pytest.param("{% set s = 'x' * 100000 %}{{ s.join(range(100000)|map('string')) }}", id="join-method"),
    pytest.param("{{ ('x' * 100000)|replace('x', 'y' * 100000) }}", id="replace-filter"),
    pytest.param("{{ ('x' * 100000).replace('', 'y' * 100000) }}", id="replace-method"),
])
def test_huge_format_widths_are_refused_before_padding(template: str) -> None:
    with pytest.raises(errors.ConfigError, match=r"automation flux-system/apps: .*(width|too large|result|budget)"):
        render(template)


@pytest.mark.parametrize("template", [
    pytest.param("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x",
                 id="nested-range"),
    pytest.param("{% set s = 'x' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}x",
                 id="nested-string-iteration"),
    pytest.param("{% macro f(n) %}{% for i in range(1000) %}{{ f(n) if n else '' }}{% endfor %}{% endmacro %}"
                 "{{ f(1) }}x", id="recursive-macro"),
])
def test_runaway_loops_stop_at_the_step_budget(template: str) -> None:
    with pytest.raises(errors.ConfigError, match=r"automation flux-system/apps: .*(budget|recursion)"):
        render(template)


def test_ordinary_templates_still_render() -> None:
    assert render("{{ printf('%-8s|', 'ab') }}{{ '%5d' % 42 }}{{ '{:>4}'.format('x') }}") == \
        "ab      |   42   x"
    assert render("{% for i in range(1000) %}{% endfor %}done") == "done"
    assert render("{{ ['a', 'b']|join(', ') }} {{ 'a-b'|replace('-', '+') }} {{ 'x'|center(5) }}|") == \
        "a, b a+b   x  |"
    assert render("{{ '-'.join(['a', 'b']) }} {{ 'ab'.replace('a', 'c') }}") == "a-b cb"
