"""Flux's Go text/template commit messages, converted to Jinja2 for imagebot's renderer.

The converter is :mod:`imagebot.gotemplate`; this module gives it Flux's data model: the root
fields ``.AutomationObject``, ``.Changed``, ``.Values`` (and ``.Updated`` for v1beta1) as bare
names of :mod:`imagebot.publish._templatedata`, and the fields Flux's v1 API removed. Called by
:mod:`imagebot.publish._message` when ``looks_like_go_template`` says a messageTemplate is Go.
"""

from __future__ import annotations

from imagebot.gotemplate import DataModel, convert, looks_like_go_template

__all__ = ["convert_flux_template", "looks_like_go_template"]

_FIELDS = frozenset({"AutomationObject", "Changed", "Values", "Updated"})
_UPDATED_REMOVED = "template uses removed '.Updated' field. Please use '.Changed' instead"
_IMAGE_RESULT_REMOVED = (
    "template uses removed '.Changed.ImageResult' field. Please use '.Changed.FileChanges' or "
    "'.Changed.Objects' instead"
)
_V1 = DataModel(
    bare=_FIELDS,
    removed={("Updated",): _UPDATED_REMOVED, ("Changed", "ImageResult"): _IMAGE_RESULT_REMOVED},
    reserved=frozenset({"images", "lines"}),
)
_V1BETA1 = DataModel(
    bare=_FIELDS,
    removed={("Changed", "ImageResult"): _IMAGE_RESULT_REMOVED},
    reserved=frozenset({"images", "lines"}),
)


def convert_flux_template(go_template: str, *, v1beta1: bool = False) -> str:
    """Translate a Flux (Go text/template) commit message template into Jinja2.

    >>> convert_flux_template("{{range .Changed.Changes}}{{.NewValue}} {{end}}")
    '{% for dot in go_values(Changed.Changes) %}{{ dot.NewValue }} {% endfor %}'

    Raises ``ConfigError`` (with the line) for syntax errors, functions imagebot does not provide,
    ``define``/``template``/``block``, and the fields Flux's v1 API removed (``.Updated``) —
    unless ``v1beta1``: a v1beta1 automation's template was written for that data model.
    """
    return convert(go_template, _V1BETA1 if v1beta1 else _V1)
