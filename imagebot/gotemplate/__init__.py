"""Go text/template for user templates: converted to Jinja2 and rendered in a sandbox.

Below the stages, so every stage that takes a user's Go template uses the same engine: publish
(Flux commit messages, :mod:`imagebot.publish._gotemplate`) and sync (Argo CD ApplicationSet
``goTemplate: true``). The parts:

* ``convert(go_template, DataModel(...))`` → Jinja2 source (``_parse`` lexes and parses Go,
  ``_convert`` writes Jinja2);
* ``render(jinja_template, context, what=…, functions=…, missing="error"|"default")`` → text,
  in the sandbox of ``_sandbox`` (jinja2's one home, imported on the first render);
* ``FUNCTIONS`` (Go built-ins and Sprig's hermetic functions, ``_funcs``), ``ARGOCD_FUNCTIONS``
  (those plus what Argo CD's ApplicationSet templates add, ``_argocd``) and Go's ``fmt`` printing
  (``go_str``, ``_fmt``).
"""

from imagebot.gotemplate._argocd import ARGOCD_FUNCTIONS, normalize
from imagebot.gotemplate._convert import DataModel, convert, looks_like_go_template
from imagebot.gotemplate._fmt import MAX_WIDTH, go_quote, go_str, sprint, sprintf, sprintln
from imagebot.gotemplate._funcs import FUNCTIONS, go_items, go_values
from imagebot.gotemplate._render import MAX_OUTPUT, MissingKey, render

__all__ = [
    "ARGOCD_FUNCTIONS",
    "FUNCTIONS",
    "MAX_OUTPUT",
    "MAX_WIDTH",
    "DataModel",
    "MissingKey",
    "convert",
    "go_items",
    "go_quote",
    "go_str",
    "go_values",
    "looks_like_go_template",
    "normalize",
    "render",
    "sprint",
    "sprintf",
    "sprintln",
]
