"""Golden directories: every shape the setters support, compared byte for byte.

Each ``golden/<case>/original`` tree is copied, ``setters.apply`` runs on it with
``helpers.VALUES``, and the result must equal ``golden/<case>/expected`` file for file. Also:
re-running on the output changes nothing (idempotency), and a structural check parses input and
output and confirms that only the marked values differ.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imagebot import setters
from imagebot.model.changes import ObjectId
from tests.setters.helpers import VALUES, assert_only_marked_values_differ

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(params=[pytest.param(case, id=case) for case in CASES])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    work = tmp_path / "repo"
    shutil.copytree(GOLDEN / request.param / "original", work)
    return request.param, work


def test_cases_cover_every_shape() -> None:
    assert set(CASES) >= {
        "plain-manifest", "kustomize-images", "helm-values", "helmrelease", "argo-rollout",
        "docker-compose", "multi-document", "anchors-aliases", "flow-style", "quoting", "crlf",
        "bom", "no-final-newline", "untouched", "hidden-dirs",
    }


def test_output_matches_expected_byte_for_byte(case: tuple[str, Path]) -> None:
    name, work = case
    setters.apply(VALUES, root=work)
    assert _tree(work) == _tree(GOLDEN / name / "expected")


def test_second_run_changes_nothing(case: tuple[str, Path]) -> None:
    _, work = case
    setters.apply(VALUES, root=work)
    first = _tree(work)
    again = setters.apply(VALUES, root=work)
    assert again.files == ()
    assert _tree(work) == first


def test_expected_trees_are_fixed_points(case: tuple[str, Path], tmp_path: Path) -> None:
    name, _ = case
    work = tmp_path / "expected"
    shutil.copytree(GOLDEN / name / "expected", work)
    assert setters.apply(VALUES, root=work, dry_run=True).files == ()


def test_only_marked_values_differ(case: tuple[str, Path]) -> None:
    name, work = case
    before = _tree(work)
    changes = setters.apply(VALUES, root=work)
    changed = {file.path: file for file in changes.files}
    for path, data in before.items():
        after = (work / path).read_bytes()
        if path in changed:
            assert_only_marked_values_differ(data, after, changed[path].changes)
        else:
            assert after == data, path
    assert set(changed) == {p for p, d in _tree(GOLDEN / name / "expected").items() if before[p] != d}


def test_dry_run_reports_the_same_changes_and_writes_nothing(case: tuple[str, Path]) -> None:
    _, work = case
    before = _tree(work)
    dry = setters.apply(VALUES, root=work, dry_run=True)
    assert _tree(work) == before
    assert setters.apply(VALUES, root=work) == dry


@pytest.mark.parametrize(
    ("name", "path", "objects"),
    [
        pytest.param(
            "plain-manifest", "deploy.yaml",
            {ObjectId("apps/v1", "Deployment", "apps", "podinfo")}, id="deployment",
        ),
        pytest.param(
            "helmrelease", "podinfo.yaml",
            {ObjectId("helm.toolkit.fluxcd.io/v2", "HelmRelease", "apps", "podinfo")},
            id="helmrelease-second-document",
        ),
        pytest.param(
            "multi-document", "all.yaml",
            {ObjectId("apps/v1", "Deployment", "apps", "web"),
             ObjectId("batch/v1", "CronJob", "jobs", "nightly")},
            id="list-items",
        ),
        pytest.param("docker-compose", "compose.yaml", {ObjectId()}, id="compose-has-no-object"),
    ],
)
def test_changes_name_the_object_they_sit_in(
    tmp_path: Path, name: str, path: str, objects: set[ObjectId]
) -> None:
    shutil.copytree(GOLDEN / name / "original", tmp_path / "repo")
    changes = setters.apply(VALUES, root=tmp_path / "repo", dry_run=True)
    (file,) = [f for f in changes.files if f.path == path]
    assert {change.object for change in file.changes} == objects


def test_untouched_case_reports_unparsable_files_with_their_line(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "untouched" / "original", tmp_path / "repo")
    changes = setters.apply(VALUES, root=tmp_path / "repo")
    assert changes.files == ()
    assert {(e.path, e.line) for e in changes.errors} == {
        ("broken.yaml", 4), ("chart/templates/deployment.yaml", 11),
    }
    assert all("left untouched" in e.message for e in changes.errors)
    # quoted pseudo-JSON, text after the brace, unknown suffix, non-string value, marker on a key
    # line, :digest without a digest, after a block scalar indicator, a head comment
    assert [w.line for w in changes.warnings] == [13, 14, 15, 16, 18, 20, 21, 23]
    assert all(w.path == "untouched.yaml" for w in changes.warnings)
