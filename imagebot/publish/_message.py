"""Render commit messages (and any user template) in a sandboxed Jinja2 environment.

Templates run in the sandbox of :mod:`imagebot.publish._sandbox` (``StrictUndefined``, no loader
— no ``include``/``import`` of files —, no environment access, bounded widths, sizes and steps)
with a capped output size; every failure becomes a ``ConfigError`` naming the automation. A
messageTemplate that looks like Go (Flux) is converted first (:mod:`imagebot.publish._gotemplate`).
Called by the pipeline through ``publish.render_commit_message``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from imagebot import errors
from imagebot.publish._gofmt import go_str
from imagebot.publish._gofuncs import FUNCTIONS, go_items, go_values
from imagebot.publish._gotemplate import convert_flux_template, looks_like_go_template
from imagebot.publish._templatedata import TemplateData

if TYPE_CHECKING:
    import jinja2

__all__ = ["DEFAULT_MESSAGE_TEMPLATE", "render_commit_message", "render_template"]

logger = logging.getLogger("imagebot.publish")

DEFAULT_MESSAGE_TEMPLATE = (
    "{% set downgrades = images|selectattr('downgrade')|map(attribute='policy')|list %}"
    "chore(images): update {{ images|length }} image{{ '' if images|length == 1 else 's' }}\n"
    "{% for file, file_lines in lines|groupby('file') %}\n"
    "{{ file }}:\n"
    "{% for line in file_lines %}- {{ line.image }} {{ line.old }} → {{ line.new }}"
    "{% if line.policy in downgrades %} (downgrade){% endif %}\n{% endfor %}"
    "{% endfor %}"
)
"""imagebot's default commit message (Jinja2): a ``chore(images)`` title and per-file lines."""

MAX_OUTPUT = 64 * 1024
"""Characters a rendered template may produce; a commit message past this is a template bug."""


def _finalize(value: object) -> object:
    # print values the way Go's fmt does (true, [a b], map[k:v]), so converted templates match Flux
    return value if isinstance(value, str) else go_str(value)


@functools.cache
def _environment() -> jinja2.Environment:
    # jinja2 is imported on the first render: every `imagebot plan` would otherwise pay for it at
    # start-up, and most runs have nothing to commit (issue 9)
    from imagebot.publish import _sandbox

    environment = _sandbox.environment(finalize=_finalize)
    environment.globals.update(FUNCTIONS)
    environment.globals.update(go_items=go_items, go_values=go_values)
    return environment


def render_template(template: str, context: Mapping[str, object], *, what: str) -> str:
    """Render a Jinja2 ``template`` in the sandbox; ``what`` names it in errors (``automation x: …``)."""
    import jinja2.exceptions

    try:
        compiled = _environment().from_string(template)
    except jinja2.TemplateSyntaxError as exc:
        raise errors.ConfigError(f"{what}: line {exc.lineno}: {exc.message}") from exc
    from imagebot.publish import _sandbox

    size = 0
    chunks: list[str] = []
    try:
        with _sandbox.step_budget():
            for chunk in compiled.generate(**context):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise errors.ConfigError(f"{what}: the rendered text exceeds {MAX_OUTPUT} characters")
                chunks.append(chunk)
    except errors.ConfigError:
        raise
    except _sandbox.BudgetExceeded as exc:
        raise errors.ConfigError(f"{what}: {exc} (a runaway loop?)") from None
    except jinja2.UndefinedError as exc:
        names = ", ".join(sorted(k for k in context if not k.startswith("_")))
        raise errors.ConfigError(f"{what}: {exc.message}; the template can use {names}") from exc
    except jinja2.exceptions.SecurityError as exc:
        raise errors.ConfigError(f"{what}: not allowed in a template: {exc}") from exc
    except Exception as exc:  # user template code (the boundary): any failure is a config error
        raise errors.ConfigError(f"{what}: the template failed: {type(exc).__name__}: {exc}") from exc
    return "".join(chunks)


def render_commit_message(template: str | None, data: TemplateData) -> str:
    """Render ``git.commit.messageTemplate`` (Jinja2, or Go/Flux converted on the fly) for ``data``.

    >>> render_commit_message("Update by {{ AutomationObject }}", data)  # doctest: +SKIP
    'Update by flux-system/apps'

    ``None`` or an empty template gives :data:`DEFAULT_MESSAGE_TEMPLATE`. Raises ``ConfigError``
    naming the automation for syntax errors, undefined names, sandbox violations, a message over
    :data:`MAX_OUTPUT`, or an empty message.
    """
    what = f"automation {data.automation}: commit message template"
    if template is None or not template.strip():
        template = DEFAULT_MESSAGE_TEMPLATE
    elif looks_like_go_template(template):
        try:
            template = convert_flux_template(template, v1beta1=data.Updated is not None)
        except errors.ConfigError as exc:
            raise errors.ConfigError(f"{what}: {exc}") from exc
        logger.debug("converted the Go messageTemplate of %s to Jinja2: %r", data.automation, template)
    message = render_template(template, _context(data), what=what)
    if not message.strip():
        raise errors.ConfigError(f"{what}: the message is empty")
    return message


def _context(data: TemplateData) -> dict[str, object]:
    return {
        "AutomationObject": data.AutomationObject,
        "Changed": data.Changed,
        "Values": data.Values,
        **({"Updated": data.Updated} if data.Updated is not None else {}),
        "images": data.images,
        "lines": data.lines,
        "_root": data,
    }
