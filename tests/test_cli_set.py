"""``imagebot set`` and ``imagebot markers``: arguments, output, diffs, exit codes.

The commands run in-process through ``cli.main``; files live in ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebot import cli

MARKED = 'image: redis:7.0 # {"$imagepolicy": "flux-system:redis"}\n'
UPDATED = 'image: redis:7.4.1 # {"$imagepolicy": "flux-system:redis"}\n'
REDIS = "--policy=flux-system:redis=redis:7.4.1"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()  # resolve_root finds the work tree by its .git entry
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "a.yaml").write_text(MARKED)
    return tmp_path


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "set " in out and "markers" in out


def test_set_rewrites_and_reports(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["set", REDIS, str(repo / "apps")]) == 0
    assert (repo / "apps" / "a.yaml").read_text() == UPDATED
    out, err = capsys.readouterr()
    assert out == "apps/a.yaml:1: flux-system:redis: redis:7.0 -> redis:7.4.1\n"
    assert "updated 1 field(s) in 1 file(s)" in err


def test_set_with_nothing_to_change_exits_zero(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "apps" / "a.yaml").write_text(UPDATED)
    assert cli.main(["set", REDIS, str(repo)]) == 0
    assert capsys.readouterr().out == ""


def test_dry_run_with_diff_prints_and_writes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "apps" / "b.yaml").write_text('tag: 7.0 # {"$imagepolicy": "flux-system:redis:tag"}')
    assert cli.main(["set", REDIS, "--dry-run", "--diff", str(repo / "apps")]) == 0
    assert (repo / "apps" / "a.yaml").read_text() == MARKED
    out, err = capsys.readouterr()
    assert out == (
        "--- a/apps/a.yaml\n+++ b/apps/a.yaml\n@@ -1 +1 @@\n-" + MARKED + "+" + UPDATED
        + "--- a/apps/b.yaml\n+++ b/apps/b.yaml\n@@ -1 +1 @@\n"
        '-tag: 7.0 # {"$imagepolicy": "flux-system:redis:tag"}\n\\ No newline at end of file\n'
        '+tag: 7.4.1 # {"$imagepolicy": "flux-system:redis:tag"}\n\\ No newline at end of file\n'
    )
    assert "would update 2 field(s) in 2 file(s)" in err


def test_digest_reference_and_explicit_root(tmp_path: Path) -> None:
    digest = "sha256:" + "c" * 64
    (tmp_path / "a.yaml").write_text(MARKED)
    code = cli.main(["set", f"{REDIS}@{digest}", "--root", str(tmp_path), str(tmp_path / "a.yaml")])
    assert code == 0
    assert (tmp_path / "a.yaml").read_text() == UPDATED.replace("7.4.1", f"7.4.1@{digest}")


def test_unprocessable_file_exits_one_and_names_path_and_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "apps" / "broken.yaml").write_text("x: 1\n" + MARKED + "  bad: [\n")
    assert cli.main(["set", REDIS, str(repo)]) == 1
    assert (repo / "apps" / "a.yaml").read_text() == UPDATED  # the run went on
    err = capsys.readouterr().err
    assert "apps/broken.yaml:3: not valid YAML" in err
    assert "1 file(s) could not be processed" in err


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        pytest.param("flux-system:redis", "expected NS:NAME=IMAGE_REF", id="no-ref"),
        pytest.param("redis=redis:7.4.1", "expected NS:NAME=IMAGE_REF", id="no-namespace"),
        pytest.param("flux-system:redis=redis", "has no tag", id="no-tag"),
        pytest.param("flux-system:redis=localhost:5000/redis", "has no tag", id="port-not-tag"),
        pytest.param("flux-system:redis=Redis:7", "invalid image", id="invalid-name"),
    ],
)
def test_bad_policy_arguments_exit_two(
    repo: Path, policy: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["set", "--policy", policy, str(repo)])
    assert exc.value.code == 2
    assert reason in capsys.readouterr().err
    assert (repo / "apps" / "a.yaml").read_text() == MARKED


def test_missing_root_is_a_configuration_error(tmp_path: Path) -> None:
    assert cli.main(["set", REDIS, "--root", str(tmp_path / "nope"), str(tmp_path)]) == 2


def test_markers_lists_flags_and_suggests(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "apps" / "b.yaml").write_text(
        'image: ghcr.io/org/web:1.0 # {"$imagepolicy": "apps:web"}\nsidecar:\n  image: nginx:1.25\n'
    )
    monkeypatch.chdir(repo)
    assert cli.main(["markers", "--policy", "flux-system:redis"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["apps/a.yaml:1", "flux-system:redis", "ref", "redis:7.0"]
    assert out[1].split() == ["apps/b.yaml:1", "apps:web", "ref", "ghcr.io/org/web:1.0", "UNKNOWN",
                              "POLICY"]
    assert out[-2:] == [
        "apps/b.yaml:3: image nginx:1.25",
        '    image: nginx:1.25 # {"$imagepolicy": "flux-system:nginx"}',
    ]


def test_markers_with_config_uses_its_policies(
    repo: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    policies = tmp_path_factory.mktemp("policies")
    (policies / "web.yaml").write_text(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n"
        "  name: web\n  namespace: apps\nspec:\n  image: ghcr.io/org/web\n  interval: 5m\n---\n"
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: web\n"
        "  namespace: apps\nspec:\n  imageRepositoryRef:\n    name: web\n  policy:\n"
        "    semver:\n      range: 1.x\n"
    )
    (repo / "apps" / "b.yaml").write_text("image: ghcr.io/org/web:1.0\n")
    assert cli.main(["markers", "--config", str(policies), str(repo / "apps")]) == 0
    out = capsys.readouterr().out
    assert "flux-system:redis  ref  redis:7.0  UNKNOWN POLICY" in out
    assert 'image: ghcr.io/org/web:1.0 # {"$imagepolicy": "apps:web"}' in out


def test_markers_exits_one_on_unparsable_files(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "apps" / "bad.yaml").write_text("a: [\n")
    assert cli.main(["markers", str(repo / "apps")]) == 1
    assert "apps/bad.yaml:2: not valid YAML" in capsys.readouterr().err


def test_a_symlink_into_another_work_tree_is_never_written_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    for tree in (mine, theirs):
        (tree / ".git").mkdir(parents=True)
    (theirs / "prod.yaml").write_text(MARKED)
    (mine / "apps").mkdir()
    (mine / "apps" / "prod.yaml").symlink_to(theirs / "prod.yaml")
    (mine / "linked").symlink_to(theirs, target_is_directory=True)

    code = cli.main(["set", REDIS, "--allow-unmatched", str(mine / "apps" / "prod.yaml"), str(mine / "linked")])

    assert code == 1
    assert (theirs / "prod.yaml").read_text() == MARKED  # the other repository is untouched
    err = capsys.readouterr().err
    assert f"outside the repository root {mine.resolve()}" in err
