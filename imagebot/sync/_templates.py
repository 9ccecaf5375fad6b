"""Render an ApplicationSet's template for one parameter set, as Argo CD's renderer does.

* ``{{param}}`` (fasttemplate, ``goTemplate`` off): ``{{ name }}`` is replaced by the parameter
  of that name when it is a string; anything else is left exactly as written.
* ``goTemplate: true``: each string is a Go text/template over the parameters (nested), with
  :data:`imagebot.gotemplate.ARGOCD_FUNCTIONS`; a missing key prints ``<no value>``, or fails
  with ``goTemplateOptions: ["missingkey=error"]``.

Every string of the template and every map key is rendered on its own; ``templatePatch`` is
rendered as one text, read as YAML and merged into the Application (maps merge, lists and
scalars replace, ``null`` deletes; ``spec.project`` cannot be patched). Used by
:mod:`imagebot.sync._generators` (a matrix's second generator reads the first's parameters) and
:mod:`imagebot.sync._appsets`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from imagebot import gotemplate
from imagebot.errors import ConfigError

__all__ = ["GeneratorError", "Renderer", "fill_missing", "merge_patch"]



class GeneratorError(ConfigError):
    """A template or generator of an ApplicationSet failed; ``path`` is the key path at fault."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message, key_path=path)
        self.path, self.message = path, message


_MODEL = gotemplate.DataModel(functions=gotemplate.ARGOCD_FUNCTIONS)


@functools.lru_cache(maxsize=1024)
def _converted(template: str) -> str:
    return gotemplate.convert(template, _MODEL)


def _fast(template: str, params: Mapping[str, object], what: str) -> str:
    # valyala/fasttemplate with "{{" "}}": an unknown or non-string parameter is written back as is
    if "{{" not in template or "}}" not in template:
        return template
    out: list[str] = []
    rest = template
    while True:
        start = rest.find("{{")
        if start < 0:
            out.append(rest)
            return "".join(out)
        end = rest.find("}}", start + 2)
        if end < 0:
            raise GeneratorError(what, f"invalid template: cannot find the end tag '}}}}' in {template!r}")
        out.append(rest[:start])
        tag = rest[start + 2:end]
        value = params.get(tag.strip())
        out.append(value if isinstance(value, str) and tag.strip() else "{{" + tag + "}}")
        rest = rest[end + 2:]


class Renderer:
    """Render strings and structures for one ApplicationSet's template mode."""

    def __init__(self, *, go_template: bool, missing_key_error: bool) -> None:
        self.go_template = go_template
        self.missing: gotemplate.MissingKey = "error" if missing_key_error else "default"

    def string(self, template: str, params: Mapping[str, object], *,
               missing: gotemplate.MissingKey | None = None, what: str = "template") -> str:
        if not self.go_template:
            return _fast(template, params, what)
        if "{{" not in template:
            return template
        try:
            return gotemplate.render(_converted(template), {"_root": params}, what="template",
                                     functions=gotemplate.ARGOCD_FUNCTIONS, missing=missing or self.missing)
        except ConfigError as exc:
            raise GeneratorError(what, str(exc).removeprefix("template: ")) from None

    def value(self, value: object, params: Mapping[str, object], what: str) -> object:
        """``value`` with every string and map key rendered (``None`` map values dropped)."""
        if isinstance(value, str):
            return self.string(value, params, what=what)
        if isinstance(value, Mapping):
            return {self.string(str(k), params, what=what): self.value(v, params, f"{what}.{k}")
                    for k, v in value.items() if v is not None}
        if isinstance(value, list | tuple):
            return [self.value(v, params, f"{what}[{i}]") for i, v in enumerate(value)]
        return value


def merge_patch(target: object, patch: object) -> object:
    """A JSON merge patch (RFC 7386): what a strategic merge patch does to an Application, whose
    type declares no list merge keys."""
    if not isinstance(patch, Mapping):
        return patch
    merged: dict[str, Any] = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def fill_missing(target: Mapping[str, object], defaults: Mapping[str, object]) -> dict[str, object]:
    """``target`` with its missing or empty fields taken from ``defaults``, recursively (mergo's
    default merge: how a generator's own ``template`` is completed by the ApplicationSet's)."""
    merged: dict[str, object] = dict(target)
    for key, default in defaults.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(default, Mapping):
            merged[key] = fill_missing(current, default)
        elif current in (None, "", [], {}, 0, False):
            merged[key] = default
    return merged
