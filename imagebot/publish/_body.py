"""Pull-request title and body: a markdown table of what changed and why that tag was chosen.

Rows come from :mod:`imagebot.publish._summary` (one per image per file); the "why" column from
the policy's ``Selection`` trace; image links from the OCI ``org.opencontainers.image.source``
label when the caller knows it. A user body template (Jinja2, sandboxed) can replace the layout and
reuse ``table``. Called by the pipeline through ``publish.render_pull_request_body``.
"""

from __future__ import annotations

from collections.abc import Iterable

from imagebot.model.changes import FileProblem
from imagebot.model.selections import Selection
from imagebot.publish._message import render_template
from imagebot.publish._summary import ImageLine, ImageUpdate
from imagebot.publish._templatedata import TemplateData

__all__ = ["MAX_BODY", "pull_request_title", "render_pull_request_body"]

MAX_BODY = 60_000
"""GitHub refuses bodies over 65,536 characters; the table is cut well before that."""
_MAX_ROWS = 200
_MARKER = "<!-- imagebot:automation {} -->"


def pull_request_title(message: str) -> str:
    """The first line of the commit message (GitHub caps titles at 256 characters)."""
    title = message.strip().splitlines()[0] if message.strip() else "chore(images): update images"
    return title if len(title) <= 256 else title[:255] + "…"


def render_pull_request_body(
        data: TemplateData, *, problems: Iterable[FileProblem] = (), template: str | None = None,
) -> str:
    """Markdown body: a downgrade warning, the change table, problems, and a hidden marker.

    ``template`` (Jinja2) replaces the layout; it sees the commit-template names plus ``table``
    (the rendered markdown table) and ``problems``.
    """
    table = _table(data)
    problems = tuple(problems)
    if template is not None:
        context: dict[str, object] = {
            "AutomationObject": data.AutomationObject, "Changed": data.Changed, "Values": data.Values,
            "images": data.images, "lines": data.lines, "table": table, "problems": problems,
        }
        body = render_template(template, context, what=f"automation {data.automation}: pull request body")
        return _cap(body)
    parts = [f"imagebot updates {_count(len(data.images))} for automation `{data.AutomationObject}`.", ""]
    downgrades = [u for u in data.images if u.downgrade]
    if downgrades:
        parts += ["> [!WARNING]", "> This pull request **downgrades** "
                  + ", ".join(f"`{u.image}` to `{u.new}`" for u in downgrades)
                  + " (the policy ranks the new tag below the current one).", ""]
    parts += [table, ""]
    if problems:
        parts += ["<details><summary>Files and markers left alone</summary>", ""]
        parts += [f"- `{_cell(str(p))}`" for p in problems]
        parts += ["", "</details>", ""]
    parts += ["<sub>This pull request is updated in place on later runs; edits to its title and body "
              "are overwritten.</sub>", _MARKER.format(data.AutomationObject)]
    return _cap("\n".join(parts) + "\n")


def _count(n: int) -> str:
    return f"{n} image" if n == 1 else f"{n} images"


def _table(data: TemplateData) -> str:
    by_policy = {update.policy: update for update in data.images}
    rows = ["| Image | File | Change | Policy | Why this tag |", "| --- | --- | --- | --- | --- |"]
    for line in data.lines[:_MAX_ROWS]:
        rows.append(_row(line, by_policy.get(line.policy)))
    if len(data.lines) > _MAX_ROWS:
        rows.append(f"| … and {len(data.lines) - _MAX_ROWS} more | | | | |")
    return "\n".join(rows)


def _row(line: ImageLine, update: ImageUpdate | None) -> str:
    selection = update.selection if update else None
    image = _code(line.image)
    if update is not None and update.source is not None:  # a checked URL (_summary.safe_url)
        image = f"[{image}]({update.source})"
    change = f"{_code(line.old)} → {_code(line.new)}"
    if line.field in ("name", "digest"):
        change += f" ({line.field})"
    if selection is not None and selection.downgrade:
        change += " ⚠️ **downgrade**"
    policy, why = _code(str(line.policy)), _text(_why(selection))
    return f"| {image} | {_code(line.file)} | {change} | {policy} | {why} |"


def _why(selection: Selection | None) -> str:
    if selection is None:
        return "—"
    trace = selection.trace
    parts: list[str] = []
    if trace is not None:
        parts.append(f"{trace.rule}: latest of {trace.eligible} eligible "
                     f"({trace.total} tag{'s' if trace.total != 1 else ''} scanned)")
        if trace.held_back:
            parts.append(f"{len(trace.held_back)} newer held back by the cooldown")
        parts.extend(trace.notes)
    elif selection.candidates:
        parts.append(f"latest of {selection.candidates} candidates")
    if selection.repush is not None:
        parts.append(f"tag re-pushed since first seen ({selection.repush.first_digest[:19]} → "
                     f"{selection.repush.digest[:19]})")
    return "; ".join(parts) or "selected by the policy"


def _code(text: str) -> str:
    text = _cell(text)
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if fence == "`" else f"{fence} {text} {fence}"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _text(text: str) -> str:
    # a table cell outside a code span: no HTML either
    return _cell(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cap(body: str) -> str:
    if len(body) <= MAX_BODY:
        return body
    return body[: MAX_BODY - 40] + "\n\n… (truncated by imagebot)\n"
