"""Run imagebot as a GitHub Actions step: the entrypoint of the repository's action.yml.

Everything comes from the environment the runner sets: the checkout (GITHUB_WORKSPACE, updated
in place), the inputs config, mode (commit | pull-request | plan), token and extra_args
(INPUT_*), and the event (a repository_dispatch client_payload may name 'automation' or
'automations' to run). Writes the outputs changed, commit, pull-request-number and
pull-request-url to GITHUB_OUTPUT and a job summary with the plan table to GITHUB_STEP_SUMMARY;
the log shows what 'imagebot run' prints, failures also as error annotations.

Exit status as 'imagebot run': 0 done, 1 an automation or image repository failed, 2 invalid
configuration or inputs.

example (what the action runs; outside GitHub, use 'imagebot run --repo .'):
  GITHUB_WORKSPACE=$PWD INPUT_MODE=plan imagebot action
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from imagebot import config, pipeline
from imagebot.commands import plan as plan_command
from imagebot.commands import run as run_command
from imagebot.errors import ConfigError

_TITLES = {"commit": "commit", "pull-request": "pull request", "plan": "plan (nothing changed)"}


def configure(parser: argparse.ArgumentParser) -> None:
    """No options: action.yml passes everything through the environment."""


def _run_arguments(env: config.ActionEnvironment) -> argparse.Namespace:
    """The 'imagebot run' (or 'plan') command line the inputs stand for, parsed by that command."""
    command = plan_command if env.mode == "plan" else run_command
    parser = argparse.ArgumentParser(prog=f"imagebot action (mode {env.mode}), extra_args:", add_help=False)
    command.configure(parser)
    argv = ["--config", str(env.config), "--repo", str(env.workspace)]
    argv += [arg for name in env.automations for arg in ("--automation", name)]
    argv += ["--pr"] if env.mode == "pull-request" else []
    try:
        return parser.parse_args([*argv, *env.extra_args])
    except SystemExit:  # argparse has printed which extra argument it refused
        command_name = "plan" if env.mode == "plan" else "run"
        raise ConfigError(f"input extra_args: not valid for 'imagebot {command_name}'") from None


def _execute(
    args: argparse.Namespace, *, dry_run: bool
) -> tuple[list[pipeline.AutomationReport], list[pipeline.Failure]]:
    # the one place the action meets the run machinery
    return run_command.execute(args, dry_run=dry_run)


def _command_data(text: str) -> str:
    """``text`` as the data of a workflow command (``::error::…``): one line, ``%`` escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(env: config.ActionEnvironment, reports: Sequence[pipeline.AutomationReport],
                     failures: Sequence[pipeline.Failure]) -> str:
    """The job summary: per automation what happened and the plan table, then failures and totals."""
    dry_run = env.mode == "plan"
    lines = [f"## imagebot: {_TITLES[env.mode]}", ""]
    for report in reports:
        lines += [f"### {report.automation}", "", run_command.describe(report, dry_run=dry_run), ""]
        if report.evaluations:
            lines += ["| policy | current | selected | why |", "| --- | --- | --- | --- |"]
            for evaluation in report.evaluations:
                selected = evaluation.selection.tag if evaluation.selection else "-"
                if evaluation.selection and evaluation.selection.downgrade:
                    selected += " (downgrade)"
                current = report.current.get(evaluation.policy, "?")
                lines.append(f"| {evaluation.policy} | `{_cell(current)}` | `{_cell(selected)}` | "
                             f"{_cell(evaluation.reason)} |")
            lines.append("")
        lines += [f"- {_cell(problem)}" for problem in [*report.skipped, *map(str, report.changes.errors)]]
    if failures:
        lines += ["### Failures", "", *(f"- {_cell(str(failure))}" for failure in failures), ""]
    lines += [f"**{run_command.summary_line(run_command.summary(reports, failures))}**", ""]
    return "\n".join(lines)


def outputs(env: config.ActionEnvironment, reports: Sequence[pipeline.AutomationReport]) -> dict[str, str]:
    """changed (fields changed, or would be in plan mode), commit, pull-request-number/-url (the first)."""
    revisions = [r.revision.sha for r in reports if r.revision is not None]
    pulls = [p for r in reports for p in r.pull_requests]
    return {
        "changed": "true" if any(r.changes.files for r in reports) else "false",
        "commit": revisions[0] if revisions and env.mode != "plan" else "",
        "pull-request-number": str(pulls[0].number) if pulls else "",
        "pull-request-url": pulls[0].url if pulls else "",
    }


def _append(path: Path | None, text: str) -> None:
    if path is not None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)


def _output_lines(values: dict[str, str]) -> str:
    lines = []
    for name, value in values.items():
        if "\n" in value:  # GitHub's multi-line syntax, with a delimiter the value cannot contain
            delimiter = f"imagebot_{uuid.uuid4().hex}"
            lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{name}={value}\n")
    return "".join(lines)


def run(args: argparse.Namespace) -> int:
    env = config.action_environment()
    if env.token:
        # pushes to the checkout's github.com remote, the pull-request API and ghcr.io all read it
        os.environ["GITHUB_TOKEN"] = env.token
    try:
        run_args = _run_arguments(env)
        reports, failures = _execute(run_args, dry_run=env.mode == "plan")
    except ConfigError as exc:
        _append(env.step_summary,
                f"## imagebot: {_TITLES[env.mode]}\n\nconfiguration error: {_cell(str(exc))}\n")
        raise
    code = run_command.show(reports, failures, as_json_output=False, dry_run=env.mode == "plan",
                            diff=env.mode == "plan")
    for failure in failures:
        print(f"::error title=imagebot::{_command_data(str(failure))}")
    _append(env.output, _output_lines(outputs(env, reports)))
    _append(env.step_summary, summary_markdown(env, reports, failures))
    return code
