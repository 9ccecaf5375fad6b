"""Deeply nested YAML: refused before any parser runs, with a clear error naming the file and the
line, in manifests (``set``, ``markers``, ``run``) and in ``policies/`` alike. Each scenario runs
imagebot in a child process with a 1 GiB address-space limit: before the bound, 20,000 levels
took ~2 GB and 30,000 levels in ``policies/`` crashed libyaml's C composer (SIGSEGV)."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from imagebot import yamldoc

MARKED = 'image: redis:7.0 # {"$imagepolicy": "flux-system:redis"}\n'


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def imagebot(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imagebot", *argv], cwd=cwd, capture_output=True, text=True,
                          preexec_fn=limited, timeout=300, check=False)


def bomb(levels: int) -> str:
    return "x: " + "[" * levels + "]" * levels + "\n"


def test_a_nesting_bomb_in_policies_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "deep.yaml").write_text("a: 1\n" + bomb(30_000))
    result = imagebot("scan", "--config", "policies", "--state", "s.db", cwd=tmp_path)
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert "deep.yaml" in result.stderr
    assert "line 2" in result.stderr and "nested more than" in result.stderr


def test_a_nesting_bomb_in_a_manifest_is_reported_by_markers_and_the_rest_is_listed(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "deep.yaml").write_text(bomb(20_000))
    (tmp_path / "apps" / "app.yaml").write_text(MARKED)
    result = imagebot("markers", "apps", cwd=tmp_path)
    assert "deep.yaml:1" in result.stdout + result.stderr
    assert "nested more than" in result.stdout + result.stderr
    assert "flux-system:redis" in result.stdout


@pytest.mark.parametrize("marked", [False, True])
def test_set_skips_or_reports_a_nesting_bomb_and_updates_the_rest(tmp_path: Path, marked: bool) -> None:
    deep = bomb(20_000) + (MARKED if marked else "")
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "deep.yaml").write_text(deep)
    (tmp_path / "apps" / "app.yaml").write_text(MARKED)
    result = imagebot("set", "apps", "--policy", "flux-system:redis=redis:7.4.1", cwd=tmp_path)
    # without a marker the text prefilter never parses the file; with one it is named with its line
    assert ("deep.yaml:1" in result.stdout + result.stderr) is marked
    assert (tmp_path / "apps" / "deep.yaml").read_text() == deep  # untouched
    assert "redis:7.4.1" in (tmp_path / "apps" / "app.yaml").read_text()


@pytest.mark.parametrize("text", [
    pytest.param("x: " + "[" * 1001 + "]" * 1001, id="flow-sequences"),
    pytest.param("x: " + "{a: " * 1001 + "}" * 1001, id="flow-mappings"),
    pytest.param("- " * 1001 + "x\n", id="compact-block-sequences"),
])
def test_the_bound_applies_before_parsing(text: str) -> None:
    with pytest.raises(yamldoc.YAMLSyntaxError, match="nested more than 1000 levels"):
        yamldoc.locate_scalars(text)
    with pytest.raises(yamldoc.YAMLSyntaxError, match="nested more than 1000 levels"):
        yamldoc.load_all_plain(text)


@pytest.mark.parametrize("text", [
    pytest.param("msg: \"[[[[[[\"\nre: '^v[0-9]+$'\n# [[[[[[[[ a comment\nit's: [fine]\n", id="brackets-in-strings"),
    pytest.param("x: " + "[" * 900 + "1" + "]" * 900 + "\n", id="deep-but-allowed"),
])
def test_ordinary_and_deep_but_allowed_documents_parse(text: str) -> None:
    scalars = yamldoc.locate_scalars(text)
    assert scalars


def test_location_paths_are_right_at_depth() -> None:
    text = "a:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(300)) + "  " * 301 + "- v\n"
    (scalar,) = yamldoc.locate_scalars(text)
    assert scalar.value == "v"
    assert scalar.path == ("a", *(f"k{i}" for i in range(300)), 0)
