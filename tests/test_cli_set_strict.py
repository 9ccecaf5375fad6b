"""``imagebot set`` refuses a --policy that matches no marker; ``set`` and ``markers`` speak JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebot import cli

MARKED = 'image: redis:7.0 # {"$imagepolicy": "flux-system:redis"}\n'
REDIS = "--policy=flux-system:redis=redis:7.4.1"
TYPO = "--policy=flux-system:rediss=redis:7.4.1"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "a.yaml").write_text(MARKED)
    return tmp_path


def test_a_policy_matching_no_marker_is_an_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["set", TYPO, str(repo)]) == 1
    err = capsys.readouterr().err
    assert "--policy flux-system:rediss matches no marker" in err
    assert "did you mean flux-system:redis (apps/a.yaml:1)?" in err
    assert (repo / "apps" / "a.yaml").read_text() == MARKED


def test_one_unmatched_policy_fails_the_step_but_the_others_are_written(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["set", REDIS, TYPO, str(repo)]) == 1
    assert "7.4.1" in (repo / "apps" / "a.yaml").read_text()
    assert "flux-system:rediss matches no marker" in capsys.readouterr().err


def test_allow_unmatched_accepts_it(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["set", TYPO, "--allow-unmatched", str(repo)]) == 0
    assert "updated 0 field(s) in 0 file(s)" in capsys.readouterr().err


def test_a_policy_whose_fields_already_hold_the_value_is_matched(repo: Path) -> None:
    (repo / "apps" / "a.yaml").write_text(MARKED.replace("7.0", "7.4.1"))
    assert cli.main(["set", REDIS, str(repo)]) == 0


def test_set_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["set", REDIS, TYPO, "--json", str(repo)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["files"] == [{"path": "apps/a.yaml", "changes": [
        {"line": 1, "marker": "flux-system:redis", "old": "redis:7.0", "new": "redis:7.4.1"}]}]
    assert report["unmatched"] == [{"policy": "flux-system:rediss", "suggestions": [
        {"policy": "flux-system:redis", "path": "apps/a.yaml", "line": 1}]}]
    assert report["dry_run"] is False
    assert report["errors"] == [] and report["warnings"] == []


def test_markers_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "apps" / "b.yaml").write_text("sidecar:\n  image: nginx:1.25\n")
    assert cli.main(["markers", "--json", "--policy", "flux-system:web", str(repo / "apps")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["markers"] == [{
        "path": "apps/a.yaml", "line": 1, "marker": "flux-system:redis", "policy": "flux-system:redis",
        "field": "ref", "value": "redis:7.0", "object": "-", "known": False,
    }]
    assert report["unmarked"] == [{
        "path": "apps/b.yaml", "line": 2, "key": "image", "value": "nginx:1.25", "image": "nginx",
        "marker": "flux-system:nginx",
        "suggestion": '  image: nginx:1.25 # {"$imagepolicy": "flux-system:nginx"}',
    }]
    assert report["errors"] == [] and report["warnings"] == []
