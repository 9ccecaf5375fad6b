"""What a GitHub Actions runner tells imagebot, read once from the environment it sets.

``action_environment()`` reads ``GITHUB_WORKSPACE`` (the checkout), the step's inputs
(``INPUT_CONFIG``, ``INPUT_MODE``, ``INPUT_TOKEN``, ``INPUT_EXTRA_ARGS`` — action.yml declares
them), the files for outputs and the job summary (``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``) and
the triggering event (``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH``: a ``repository_dispatch``
``client_payload`` may name the automations to run). Called by ``imagebot action``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from imagebot.errors import ConfigError

__all__ = ["MODES", "ActionEnvironment", "action_environment"]

Mode = Literal["commit", "pull-request", "plan"]
MODES: tuple[Mode, ...] = ("commit", "pull-request", "plan")


@dataclasses.dataclass(frozen=True, slots=True)
class ActionEnvironment:
    workspace: Path
    """The repository checkout (``GITHUB_WORKSPACE``), updated in place."""
    config: Path
    """The configuration directory, relative paths taken from the workspace (input ``config``)."""
    mode: Mode
    """``commit`` (push to the automations' branches), ``pull-request``, or ``plan`` (change nothing)."""
    token: str | None = dataclasses.field(default=None, repr=False)
    """Input ``token`` (pushes and the pull-request API), else ``GITHUB_TOKEN``."""
    extra_args: tuple[str, ...] = ()
    """Input ``extra_args``, split like a shell would (no expansion)."""
    output: Path | None = None
    step_summary: Path | None = None
    event_name: str = ""
    automations: tuple[str, ...] = ()
    """Automations named by a ``repository_dispatch`` event's ``client_payload`` (empty: all)."""


def _event_automations(name: str, path: str | None) -> tuple[str, ...]:
    if name != "repository_dispatch" or not path:
        return ()
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"GITHUB_EVENT_PATH {path}: cannot read the event: {exc}") from None
    payload = event.get("client_payload") if isinstance(event, dict) else None
    if not isinstance(payload, dict):
        return ()
    named = payload.get("automations", payload.get("automation", []))
    names = [named] if isinstance(named, str) else named
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(
            "repository_dispatch client_payload.automations: expected a list of NS/NAME strings"
        )
    return tuple(names)


def action_environment(environ: Mapping[str, str] | None = None) -> ActionEnvironment:
    """The runner's environment; a ``ConfigError`` naming the variable when something is off."""
    env = os.environ if environ is None else environ
    workspace = env.get("GITHUB_WORKSPACE")
    if not workspace:
        raise ConfigError("GITHUB_WORKSPACE is not set: 'imagebot action' runs as a GitHub Actions step "
                          "(use 'imagebot run --repo .' elsewhere)")
    mode = env.get("INPUT_MODE", "").strip() or "pull-request"
    if mode not in MODES:
        raise ConfigError(f"input mode: {mode!r} is not one of {', '.join(MODES)}")
    try:
        extra = tuple(shlex.split(env.get("INPUT_EXTRA_ARGS", "")))
    except ValueError as exc:
        raise ConfigError(f"input extra_args: {exc}") from None
    config = Path(env.get("INPUT_CONFIG", "").strip() or "policies")
    return ActionEnvironment(
        workspace=Path(workspace),
        config=config if config.is_absolute() else Path(workspace) / config,
        mode=mode,
        token=env.get("INPUT_TOKEN", "").strip() or env.get("GITHUB_TOKEN") or None,
        extra_args=extra,
        output=Path(env["GITHUB_OUTPUT"]) if env.get("GITHUB_OUTPUT") else None,
        step_summary=Path(env["GITHUB_STEP_SUMMARY"]) if env.get("GITHUB_STEP_SUMMARY") else None,
        event_name=env.get("GITHUB_EVENT_NAME", ""),
        automations=_event_automations(env.get("GITHUB_EVENT_NAME", ""), env.get("GITHUB_EVENT_PATH")),
    )
