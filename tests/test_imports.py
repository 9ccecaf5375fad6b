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


START_UP = (
    "httpx", "httpcore", "h2", "ruamel", "pygit2", "pathspec", "re2", "semver", "apscheduler", "prometheus_client",
    "sqlite3", "yaml", "kubernetes", "github", "requests", "jinja2", "click", "rich",
)
"""Third-party (and the heavier stdlib) libraries a command's --help or --version never needs."""
NOT_AT_START_UP = ("imagebot.pipeline", "imagebot.scan", "imagebot.setters", "imagebot.git", "imagebot.state",
                   "imagebot.config._loader", "imagebot.validation", "imagebot.policy", "dataclasses")


def _modules_after_cli(argv: list[str]) -> set[str]:
    probe = (
        "import contextlib, io, json, sys\n"
        "from imagebot import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        cli.main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["plan", "--help"], id="plan-help"),
        pytest.param(["run", "--help"], id="run-help"),
        pytest.param(["scan", "--help"], id="scan-help"),
        pytest.param(["--version"], id="version"),
        pytest.param(["--help"], id="help"),
    ],
)
def test_start_up_imports_no_library_and_no_stage(argv: list[str]) -> None:
    # issue 9: `imagebot plan` should start within 0.2 s of bare Python; the libraries and stages
    # a run needs are imported when it starts, not to parse its command line
    loaded = _modules_after_cli(argv)
    assert {name.split(".")[0] for name in loaded}.isdisjoint(START_UP)
    assert loaded.isdisjoint(NOT_AT_START_UP)


def test_the_configuration_package_imports_its_modules_when_used() -> None:
    loaded = _modules_after_cli(["plan", "--help"])
    assert "imagebot.config._secrets" in loaded  # DEFAULT_SECRETS_DIR, a default shown in the help
    probe = "from imagebot import config\nconfig.load\nconfig.Config"
    assert "ruamel" in _loaded_after(probe)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import imagebot.schedule._service", id="serve"),
        pytest.param("import imagebot.sync", id="sync"),
        pytest.param("import imagebot.commands.serve, imagebot.commands.apps", id="commands"),
    ],
)
def test_without_the_sync_extra_serve_still_imports(code: str) -> None:
    """The container image installs no ``kubernetes`` (the ``sync`` extra): serve, which only
    syncs when Applications are configured, must still start; the client is imported on connect."""
    probe = f"import sys\nsys.modules['kubernetes'] = None  # as if not installed\n{code}\nprint('imported')"
    done = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "imported"


def test_without_the_sync_extra_connecting_says_what_to_install() -> None:
    probe = (
        "import sys\nsys.modules['kubernetes'] = None\n"
        "from pathlib import Path\nfrom imagebot import sync\nfrom imagebot.errors import ConfigError\n"
        "try:\n    sync.connect(Path('kubeconfig'))\nexcept ConfigError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert "pip install 'imagebot[sync]'" in out
