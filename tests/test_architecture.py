"""The import contracts (``.importlinter``) catch what they promise to catch.

Each case copies the package to a temporary directory, adds one forbidden import, and runs
``lint-imports`` there: the named contract must break (and only because of that import).
What imports cannot say — the pipeline leaves Git work to publish — is checked on the syntax
tree, and seen to catch an injected violation too.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT), "--config", str(tree / ".importlinter")], cwd=tree, env=env,
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("arch")
    shutil.copytree(ROOT / "imagebot", copy / "imagebot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    return copy


def test_the_package_keeps_every_contract(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    pytest.param("policy/_filter.py", "import imagebot.scan", "pipeline stages are independent",
                 id="stage-imports-stage"),
    pytest.param("scan/_endpoints.py", "import imagebot.state", "Stages get git, config and state",
                 id="stage-imports-state"),
    pytest.param("setters/_files.py", "import imagebot.git", "Stages get git, config and state",
                 id="stage-imports-git"),
    pytest.param("publish/_forge.py", "import imagebot.config", "Publish and sync get",
                 id="publish-imports-config"),
    pytest.param("pipeline/_run.py", "import requests", "one home each", id="requests-outside-its-home"),
    pytest.param("logs.py", "import imagebot.model", "pipeline stages are independent",
                 id="logs-not-at-the-bottom"),
    pytest.param("gotemplate/_funcs.py", "import imagebot.publish", "pipeline stages are independent",
                 id="gotemplate-imports-a-stage"),
    pytest.param("sync/_units.py", "import jinja2", "one home each", id="jinja2-outside-gotemplate"),
])
def test_a_deliberate_violation_breaks_its_contract(tree: Path, module: str, line: str,
                                                    contract: str) -> None:
    path = tree / "imagebot" / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n{line}  # deliberate violation\n")
        result = _lint(tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    broken = [ln for ln in result.stdout.splitlines() if "BROKEN" in ln]
    assert len(broken) == 1 and contract in broken[0], result.stdout


# what only publish does with a workspace: the pipeline may open one and read a commit's files
GIT_WORK = frozenset({"commit", "push", "fetch_branch", "same_tree", "reset", "push_with_retry"})


def _git_work(package: Path) -> list[str]:
    """Calls of ``<anything>.commit(…)``, ``.push(…)``, … in ``package``: ``file:line .name``."""
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in GIT_WORK:
                found.append(f"{path.relative_to(package.parent)}:{node.lineno} .{node.func.attr}")
    return found


def test_the_pipeline_leaves_commits_pushes_and_fetches_to_publish(tree: Path) -> None:
    assert _git_work(tree / "imagebot" / "pipeline") == []


def test_a_commit_built_in_the_pipeline_is_caught(tree: Path) -> None:
    path = tree / "imagebot" / "pipeline" / "_automation.py"
    original = path.read_text()
    try:
        path.write_text(original + "\n\ndef _sneak(ws: git.Workspace) -> None:  # deliberate violation\n"
                        "    ws.push('main', commit=ws.head)\n")
        found = _git_work(tree / "imagebot" / "pipeline")
    finally:
        path.write_text(original)
    assert len(found) == 1 and found[0].startswith("pipeline/_automation.py:") and found[0].endswith(".push")
