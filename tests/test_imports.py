"""Start-up: the commands import only what they use (issue 9).

Aspects: `run`/`plan` (and the CLI on its way to them) leave PyGithub, requests, jwt,
cryptography and jinja2 unimported until a pull request or a commit message needs them; using
the forge or rendering a message imports them on demand. Checked in a fresh interpreter through
``sys.modules`` — behaviour, not timing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("github", "requests", "jwt", "cryptography", "nacl", "jinja2")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import imagebot.commands.run", id="run"),
        pytest.param("import imagebot.commands.plan", id="plan"),
        pytest.param("from imagebot import cli; cli.build_parser(['plan'])", id="cli-plan-parser"),
        pytest.param("import imagebot.pipeline", id="pipeline"),
    ],
)
def test_commands_do_not_import_the_forge_or_jinja2(code: str) -> None:
    assert _loaded_after(code).isdisjoint(HEAVY)


def test_they_are_imported_when_used() -> None:
    loaded = _loaded_after(
        "from imagebot import publish\n"
        "publish.GitHubForge\n"
        "from imagebot.publish import _message\n"
        "_message.render_template('{{ 1 }}', {}, what='t')"
    )
    assert {"github", "jinja2"} <= loaded
