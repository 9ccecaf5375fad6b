"""Fuzzing the parsers that read text someone else controls: markers and YAML in manifests, policy
ranges, registry headers (``WWW-Authenticate``, ``Link``), and Flux commit templates.

Each property says the parser either answers or raises its own documented error — never another
exception — and, for the splice writer, that an edit changes nothing outside the marked scalars.
``IMAGEBOT_FUZZ_EXAMPLES`` raises the example count (``benchmarks/fuzz.py`` runs 20,000).
"""

from __future__ import annotations

import contextlib
import os
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagebot import errors, publish
from imagebot.model.changes import ChangeSet, FileChange
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.images import ImageRef
from imagebot.policy import _constraints
from imagebot.publish import _gotemplate
from imagebot.scan import _challenges, _links
from imagebot.setters import _edit, _markers

FUZZ = settings(max_examples=int(os.environ.get("IMAGEBOT_FUZZ_EXAMPLES", "100")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

printable = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@FUZZ
@given(st.one_of(printable, st.builds(lambda s: '# {"$imagepolicy": ' + s + "}", printable)))
def test_marker_parser_answers_or_explains(comment: str) -> None:
    result = _markers.parse_marker(comment)
    assert isinstance(result, _markers.Marker | str)


@FUZZ
@given(st.one_of(printable, st.from_regex(r"[<>=~^!]{0,2} ?v?\d{1,3}(\.[\dxX*]{1,3}){0,2}(-[a-z0-9.]{1,8})?"
                                          r"( ?(\|\||,| - |\s)? ?[<>=~^]{0,2}\d{1,3}(\.\d{1,3}){0,2})*",
                                          fullmatch=True)))
def test_constraint_parser_answers_or_names_the_part(text: str) -> None:
    with contextlib.suppress(_constraints.InvalidConstraint):
        _constraints.parse(text)


header = st.text(alphabet=st.sampled_from(list('Bearer Basic realm="https://a/t",service=x scope=y\\ \t,=;<>')),
                 max_size=120)


@FUZZ
@given(st.lists(st.one_of(header, printable), max_size=3))
def test_www_authenticate_parser_never_raises(headers: list[str]) -> None:
    for challenge in _challenges.parse_challenges(headers):
        assert challenge.scheme


@FUZZ
@given(st.lists(st.one_of(
    st.text(alphabet=st.sampled_from(list('</v2/x/tags/list?n=1&last=a>; rel="next",; ')), max_size=80),
    printable), max_size=3))
def test_link_parser_never_raises_and_stays_on_origin(headers: list[str]) -> None:
    found = _links.next_link(headers, "https://registry.example/v2/x/tags/list")
    assert found is None or _links.same_origin(found, "https://registry.example/")


go_template = st.text(alphabet=st.sampled_from(
    list("{{}} .Changed.Changes .NewValue range end if else with $x := | printf \"%s\" AutomationObject\n")),
    max_size=120)


@FUZZ
@given(st.one_of(go_template, printable))
def test_go_template_converter_converts_or_raises_a_config_error(template: str) -> None:
    try:
        converted = _gotemplate.convert_flux_template(template)
    except errors.ConfigError:
        return
    assert isinstance(converted, str)


# -- the splice writer ----------------------------------------------------------------------------

POLICIES = [ObjectKey("flux-system", "app"), ObjectKey("apps", "web")]
VALUES = {POLICIES[0]: ImageRef("ghcr.io/org/app", Tag("2.0.0"), "sha256:" + "a" * 64)}
SUFFIXES = ["", ":tag", ":name", ":digest"]
_scalar_text = st.from_regex(r"[a-z][a-z0-9./:-]{0,20}", fullmatch=True)


@st.composite
def manifests(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for index in range(draw(st.integers(1, 12))):
        indent = "  " * draw(st.integers(0, 3))
        value = draw(_scalar_text)
        style = draw(st.sampled_from(["plain", "single", "double"]))
        written = {"plain": value, "single": f"'{value}'", "double": f'"{value}"'}[style]
        if draw(st.booleans()):
            policy = draw(st.sampled_from(POLICIES))
            comment = f' # {{"$imagepolicy": "{policy.namespace}:{policy.name}{draw(st.sampled_from(SUFFIXES))}"}}'
        else:
            comment = draw(st.sampled_from(["", " # a comment", "  # [{'quoted'}]"]))
        key = draw(st.sampled_from(["image", "tag", "name", "digest", f"k{index}"]))
        lines.append(f"{indent}{key}{index}: {written}{comment}")
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# standalone comment", "---"])))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return ending.join(lines) + ending


_MARKER_LINE = re.compile(r'# \{"\$imagepolicy": "flux-system:app')


@FUZZ
@given(manifests())
def test_an_edit_changes_only_marked_scalars(text: str) -> None:
    data = text.encode()
    try:
        edited = _edit.edit(data, VALUES, path="fuzz.yaml")
    except _edit.Unprocessable:
        return  # not YAML (e.g. indentation the generator made inconsistent): left untouched
    before, after = text.splitlines(keepends=True), edited.data.decode().splitlines(keepends=True)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        if old != new:
            # only a line that carries a marker for the policy with a value changes, and only
            # between its key and its comment
            assert _MARKER_LINE.search(old)
            key_end = old.index(": ") + 2
            comment = old.index(" # {")
            assert new[:key_end] == old[:key_end]
            assert new[new.index(" # {"):] == old[comment:]
    changed_lines = {c.line for c in edited.changes}
    assert all(_MARKER_LINE.search(before[line - 1]) for line in changed_lines)
    files = (FileChange("fuzz.yaml", edited.changes),) if edited.changes else ()
    publish.template_data(POLICIES[0], ChangeSet(files=files))  # the report is usable downstream
