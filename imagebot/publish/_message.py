"""Render commit messages (and any user template) in a sandboxed Jinja2 environment.

Templates run in the sandbox of :mod:`imagebot.gotemplate` (``StrictUndefined``, no loader
— no ``include``/``import`` of files —, no environment access, bounded widths, sizes and steps)
with a capped output size; every failure becomes a ``ConfigError`` naming the automation. A
messageTemplate that looks like Go (Flux) is converted first (:mod:`imagebot.publish._gotemplate`).
Called by the pipeline through ``publish.render_commit_message``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from imagebot import errors, gotemplate
from imagebot.gotemplate import MAX_OUTPUT
from imagebot.publish._gotemplate import convert_flux_template, looks_like_go_template
from imagebot.publish._templatedata import TemplateData

__all__ = ["DEFAULT_MESSAGE_TEMPLATE", "MAX_OUTPUT", "render_commit_message", "render_template"]

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


def render_template(template: str, context: Mapping[str, object], *, what: str) -> str:
    """Render a Jinja2 ``template`` in the sandbox; ``what`` names it in errors (``automation x: …``)."""
    return gotemplate.render(template, context, what=what)


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
