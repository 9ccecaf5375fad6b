"""Render a Jinja2 template (written by hand, or converted from Go) in the sandbox.

Templates run in the sandbox of :mod:`imagebot.gotemplate._sandbox` (no loader — no
``include``/``import`` of files —, no environment access, bounded widths, sizes and steps) with a
capped output size; every failure becomes a ``ConfigError`` that starts with ``what``. Values are
printed as Go's ``fmt`` prints them, so a converted template prints what Go would. A missing field
is an error (Go's ``missingkey=error``), or prints ``<no value>`` (Go's default). Called by
:mod:`imagebot.publish` (commit messages) and :mod:`imagebot.sync` (ApplicationSet templates).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal

from imagebot import errors
from imagebot.gotemplate._fmt import go_str
from imagebot.gotemplate._funcs import FUNCTIONS, go_items, go_values

if TYPE_CHECKING:
    import jinja2

__all__ = ["MAX_OUTPUT", "MissingKey", "render"]

MAX_OUTPUT = 64 * 1024
"""Characters a rendered template may produce; a commit message past this is a template bug."""

MissingKey = Literal["error", "default"]

_ENVIRONMENTS: dict[tuple[int, MissingKey], jinja2.Environment] = {}
_LOCK = threading.Lock()
_NO_ENTRY = re.compile(r"^'(?:dict object|_root)' has no attribute '(.*)'$")


def _finalize(value: object) -> object:
    # print values the way Go's fmt does (true, [a b], map[k:v]), so converted templates match Go
    import jinja2

    if isinstance(value, jinja2.Undefined):
        return value  # printed by the Undefined class: an error, or Go's "<no value>"
    return value if isinstance(value, str) else go_str(value)


def _environment(functions: Mapping[str, Callable[..., object]], missing: MissingKey) -> jinja2.Environment:
    # jinja2 is imported on the first render: every `imagebot plan` would otherwise pay for it at
    # start-up, and most runs have nothing to commit (issue 9)
    from imagebot.gotemplate import _sandbox

    key = (id(functions), missing)
    with _LOCK:
        environment = _ENVIRONMENTS.get(key)
        if environment is None:
            environment = _sandbox.environment(finalize=_finalize, go_missing=missing == "default")
            environment.globals.update(functions)
            environment.globals.update(go_items=go_items, go_values=go_values)
            _ENVIRONMENTS[key] = environment
        return environment


@functools.lru_cache(maxsize=1024)
def _compile(environment: jinja2.Environment, template: str) -> jinja2.Template:
    # an ApplicationSet renders the same few strings once per generated Application
    return environment.from_string(template)


def render(
    template: str,
    context: Mapping[str, object],
    *,
    what: str,
    functions: Mapping[str, Callable[..., object]] = FUNCTIONS,
    missing: MissingKey = "error",
    max_output: int = MAX_OUTPUT,
) -> str:
    """Render a Jinja2 ``template``; ``what`` names it in errors (``automation x: …``)."""
    import jinja2.exceptions

    try:
        compiled = _compile(_environment(functions, missing), template)
    except jinja2.TemplateSyntaxError as exc:
        raise errors.ConfigError(f"{what}: line {exc.lineno}: {exc.message}") from exc
    from imagebot.gotemplate import _sandbox

    size = 0
    chunks: list[str] = []
    try:
        with _sandbox.step_budget():
            for chunk in compiled.generate(**context):
                size += len(chunk)
                if size > max_output:
                    raise errors.ConfigError(f"{what}: the rendered text exceeds {max_output} characters")
                chunks.append(chunk)
    except errors.ConfigError:
        raise
    except _sandbox.BudgetExceeded as exc:
        raise errors.ConfigError(f"{what}: {exc} (a runaway loop?)") from None
    except jinja2.UndefinedError as exc:
        names = ", ".join(sorted(k for k in context if not k.startswith("_")))
        hint = f"; the template can use {names}" if names else ""
        no_entry = _NO_ENTRY.match(exc.message or "")
        message = f'map has no entry for key "{no_entry.group(1)}"' if no_entry else exc.message
        raise errors.ConfigError(f"{what}: {message}{hint}") from exc
    except jinja2.exceptions.SecurityError as exc:
        raise errors.ConfigError(f"{what}: not allowed in a template: {exc}") from exc
    except Exception as exc:  # user template code (the boundary): any failure is a config error
        raise errors.ConfigError(f"{what}: the template failed: {type(exc).__name__}: {exc}") from exc
    return "".join(chunks)
