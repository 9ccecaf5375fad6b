"""What ``imagebot action`` reads from a runner's environment, without running anything.

Aspects: defaults (config ``policies`` under the workspace, mode ``pull-request``, the job's
token); a repository_dispatch ``client_payload`` naming one automation or several, ignored for
other events, refused when malformed; the token kept out of ``repr``; workflow-command escaping.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebot import config
from imagebot.commands import action
from imagebot.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    env = config.action_environment({"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_TOKEN": "ghs_job"})

    assert (env.workspace, env.config, env.mode) == (tmp_path, tmp_path / "policies", "pull-request")
    assert env.token == "ghs_job"
    assert env.automations == ()
    assert "ghs_job" not in repr(env)


@pytest.mark.parametrize(("payload", "expected"), [
    pytest.param({"automation": "flux-system/apps"}, ("flux-system/apps",), id="one"),
    pytest.param({"automations": ["a/x", "b/y"]}, ("a/x", "b/y"), id="several"),
    pytest.param({"image": "ghcr.io/org/app"}, (), id="none-named"),
])
def test_repository_dispatch_names_automations(tmp_path: Path, payload: dict[str, object],
                                               expected: tuple[str, ...]) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "image-pushed", "client_payload": payload}))
    environ = {"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_EVENT_NAME": "repository_dispatch",
               "GITHUB_EVENT_PATH": str(event)}

    assert config.action_environment(environ).automations == expected
    assert config.action_environment({**environ, "GITHUB_EVENT_NAME": "schedule"}).automations == ()


def test_a_malformed_dispatch_payload_is_refused(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"client_payload": {"automations": [1, 2]}}))

    with pytest.raises(ConfigError, match=r"client_payload\.automations: expected a list of NS/NAME strings"):
        config.action_environment({"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_EVENT_NAME": "repository_dispatch",
                                   "GITHUB_EVENT_PATH": str(event)})


def test_workflow_command_data_is_escaped() -> None:
    assert action._command_data("100% done\r\nnext line") == "100%25 done%0D%0Anext line"
