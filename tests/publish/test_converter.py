"""The Go → Jinja2 converter, form by form (the 1:1 table of docs/publish.md).

Aspects: each Go construct maps to the documented Jinja2 text; trimming is applied while
converting (no ``-`` markers remain); text that Jinja2 would read as syntax is quoted; variables
that clash with Jinja2 names are renamed; Go-template detection.
"""

from __future__ import annotations

import pytest

from imagebot import publish


@pytest.mark.parametrize(("go", "jinja"), [
    pytest.param("{{ .AutomationObject }}", "{{ AutomationObject }}", id="field"),
    pytest.param("{{ .AutomationObject.Name }}", "{{ AutomationObject.Name }}", id="field-chain"),
    pytest.param("{{ .Values.cluster }}", "{{ Values.cluster }}", id="map-key"),
    pytest.param("{{ .Values.items }}", '{{ Values["items"] }}', id="map-key-named-like-a-method"),
    pytest.param("{{ range .Changed.Changes }}{{ .NewValue }}{{ end }}",
                 "{% for dot in go_values(Changed.Changes) %}{{ dot.NewValue }}{% endfor %}", id="range-dot"),
    pytest.param("{{ range $f, $_ := .Changed.FileChanges }}{{ $f }}{{ end }}",
                 "{% for f, _ in go_items(Changed.FileChanges) %}{{ f }}{% endfor %}", id="range-key-value"),
    pytest.param("{{ range $c := .Changed.Changes }}{{ $c.Setter }}{{ end }}",
                 "{% for c in go_values(Changed.Changes) %}{{ c.Setter }}{% endfor %}", id="range-value"),
    pytest.param("{{ range .X }}a{{ else }}b{{ end }}",
                 "{% for dot in go_values(_root.X) %}a{% else %}b{% endfor %}", id="range-else"),
    pytest.param("a  \n {{- .Values.x -}} \n b", "a{{ Values.x }}b", id="trim-both"),
    pytest.param("{{ if .Values.x }}y{{ else if .Values.z }}z{{ else }}n{{ end }}",
                 "{% if Values.x %}y{% elif Values.z %}z{% else %}n{% endif %}", id="if-else-if"),
    pytest.param("{{ with .Values.x }}{{ . }}{{ end }}",
                 "{% with dot = Values.x %}{% if dot %}{{ dot }}{% endif %}{% endwith %}", id="with"),
    pytest.param('{{ printf "%s-%d" .Values.x 3 }}', '{{ printf("%s-%d", Values.x, 3) }}', id="printf"),
    pytest.param("{{ println .Values.x }}", "{{ println(Values.x) }}", id="println"),
    pytest.param("{{ .Values.x | lower | trunc 3 }}", "{{ trunc(3, lower(Values.x)) }}", id="pipeline"),
    pytest.param("{{ $x := .Values.x }}{{ $x = printf \"%s!\" $x }}{{ $x }}",
                 '{% set x = Values.x %}{% set x = printf("%s!", x) %}{{ x }}', id="variables"),
    pytest.param("{{ if and (eq .Values.a \"1\") (not .Values.b) }}y{{ end }}",
                 '{% if ((Values.a == "1") and (not Values.b)) %}y{% endif %}', id="and-eq-not"),
    pytest.param("{{ if eq .Values.a \"1\" \"2\" }}y{{ end }}",
                 '{% if (Values.a == "1" or Values.a == "2") %}y{% endif %}', id="eq-many"),
    pytest.param("{{/* note */}}x", "x", id="comment"),
    pytest.param("{{ range .Changed.Changes }}{{ if .Setter }}{{ break }}{{ end }}{{ continue }}{{ end }}",
                 "{% for dot in go_values(Changed.Changes) %}{% if dot.Setter %}{% break %}{% endif %}"
                 "{% continue %}{% endfor %}", id="break-continue"),
    pytest.param("{% raw %} {{ .Values.x }}", '{{ "{% raw %} " }}{{ Values.x }}', id="jinja-syntax-in-text"),
    pytest.param("{{ $loop := 1 }}{{ $loop }}", "{% set loop_v = 1 %}{{ loop_v }}", id="reserved-variable"),
    pytest.param("{{ `raw\\n` }}{{ \"q\\\"\\n\" }}", '{{ "raw\\\\n" }}{{ "q\\"\\n" }}', id="string-literals"),
    pytest.param("{{ $ }}{{ $.Values.x }}{{ . }}", "{{ _root }}{{ Values.x }}{{ _root }}", id="root"),
    pytest.param("{{ true }}{{ nil }}{{ 'a' }}", "{{ true }}{{ none }}{{ 97 }}", id="literals"),
])
def test_go_forms_convert_to_jinja(go: str, jinja: str) -> None:
    assert publish.convert_flux_template(go) == jinja


@pytest.mark.parametrize(("text", "is_go"), [
    pytest.param("{{ .AutomationObject }}", True, id="field"),
    pytest.param("{{- $x := 1 }}", True, id="variable"),
    pytest.param("{{range .Changed.Changes}}{{end}}", True, id="range"),
    pytest.param('{{ printf "%s" 1 }}', True, id="go-call"),
    pytest.param("{{/* c */}}", True, id="comment"),
    pytest.param("{{ AutomationObject }}", False, id="jinja-name"),
    pytest.param('{{ printf("%s", 1) }}', False, id="jinja-call"),
    pytest.param("{% for c in Changed.Changes %}{{ .x }}{% endfor %}", False, id="jinja-statement"),
    pytest.param("plain text", False, id="plain"),
])
def test_go_template_detection(text: str, is_go: bool) -> None:
    assert publish.looks_like_go_template(text) is is_go
