"""Which files the stage visits: YAML names only, ``.gitignore``/``.imagebotignore`` honoured
(checked against ``git ls-files --others --exclude-standard`` as the oracle), symbolic links
never followed out of the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from imagebot import setters
from imagebot.setters import _files
from tests.setters.helpers import VALUES

MARKED = 'image: redis:7.0 # {"$imagepolicy": "flux-system:redis"}\n'
UPDATED = 'image: redis:7.4.1 # {"$imagepolicy": "flux-system:redis"}\n'


def _make(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _visited(root: Path, *paths: Path, ignore: tuple[str, ...] = ()) -> list[str]:
    found, problems = _files.collect(root.resolve(), paths, ignore=ignore)
    assert problems == []
    return [item.rel for item in found]


def test_only_yaml_names_are_taken_and_hidden_directories_are_walked(tmp_path: Path) -> None:
    _make(tmp_path, dict.fromkeys(
        ["a.yaml", "b.yml", "k/Kustomization", "c.YAML", "d.json", "e.yaml.gotmpl",
         "kustomization", ".github/workflows/ci.yml", ".git/config.yaml"], "x: 1\n"))
    assert _visited(tmp_path) == [".github/workflows/ci.yml", "a.yaml", "b.yml", "k/Kustomization"]


GITIGNORE = {
    ".gitignore": "\n".join([
        "# comment", "*.log.yaml", "/root-only.yaml", "build/", "!build/keep.yaml",
        "docs/**/draft.yaml", "**/tmp", "secret?.yaml", "[abc]x.yaml", "[!abc]y.yaml",
        "nested/*.yaml", "!nested/keep.yaml", "\\#hash.yaml", "trailing.yaml   ", "gen/**",
        "!gen/", "", "dironly/", "*.yaml.bak",
    ]) + "\n",
    "sub/.gitignore": "*.yaml\n!important.yaml\n/local.yml\n",
    "sub/deeper/.gitignore": "!*.yaml\n",
}
CANDIDATES = [
    "app.yaml", "app.log.yaml", "x/app.log.yaml", "root-only.yaml", "x/root-only.yaml",
    "build/a.yaml", "build/keep.yaml", "x/build/a.yaml", "docs/draft.yaml", "docs/a/b/draft.yaml",
    "tmp/a.yaml", "x/tmp/a.yaml", "secret1.yaml", "secret12.yaml", "ax.yaml", "dx.yaml", "ay.yaml",
    "dy.yaml", "nested/a.yaml", "nested/keep.yaml", "nested/deep/a.yaml", "#hash.yaml",
    "trailing.yaml", "gen/a.yaml", "dironly.yaml", "x/dironly/a.yaml", "sub/a.yaml",
    "sub/important.yaml", "sub/local.yml", "sub/x/local.yml", "sub/deeper/a.yaml", "sub/x/b.yml",
]


def test_gitignore_semantics_match_git(tmp_path: Path) -> None:
    _make(tmp_path, GITIGNORE | dict.fromkeys(CANDIDATES, "x: 1\n"))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    listed = subprocess.run(
        ["git", "-c", "core.excludesFile=/dev/null", "ls-files", "--others", "--exclude-standard"],
        cwd=tmp_path, check=True, capture_output=True, text=True,
    ).stdout.splitlines()
    git_view = sorted(p for p in listed if p in CANDIDATES)
    assert len(git_view) < len(CANDIDATES) - 10  # the patterns really exclude things
    assert _visited(tmp_path) == git_view


def test_imagebotignore_nested_overrides_and_ignore_argument(tmp_path: Path) -> None:
    _make(tmp_path, {
        ".imagebotignore": "skip/\n*.generated.yaml\n",
        "apps/.imagebotignore": "!keep.generated.yaml\n",
        "a.yaml": "", "skip/a.yaml": "", "x.generated.yaml": "", "apps/keep.generated.yaml": "",
        "apps/other.generated.yaml": "", "apps/b.yaml": "", "apps/c.yaml": "",
    })
    assert _visited(tmp_path) == ["a.yaml", "apps/b.yaml", "apps/c.yaml", "apps/keep.generated.yaml"]
    # ignore= patterns (relative to the root) come last and win
    assert _visited(tmp_path, ignore=("apps/c.yaml", "!x.generated.yaml")) == [
        "a.yaml", "apps/b.yaml", "apps/keep.generated.yaml", "x.generated.yaml",
    ]


def test_ignore_files_above_the_update_path_apply(tmp_path: Path) -> None:
    _make(tmp_path, {".gitignore": "apps/skip.yaml\n", "apps/skip.yaml": "", "apps/a.yaml": ""})
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("apps/excluded.yaml\n")
    (tmp_path / "apps" / "excluded.yaml").write_text("")
    assert _visited(tmp_path, Path("apps")) == ["apps/a.yaml"]


def test_explicit_files_are_taken_whatever_their_name(tmp_path: Path) -> None:
    _make(tmp_path, {".gitignore": "*.txt\n", "notes.txt": "", "a.yaml": ""})
    assert _visited(tmp_path, Path("notes.txt"), tmp_path / "a.yaml") == ["a.yaml", "notes.txt"]


def test_symlinks_out_of_the_repository_are_never_followed_or_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    repo = tmp_path / "repo"
    _make(outside, {"x.yaml": MARKED, "dir/y.yaml": MARKED})
    _make(repo, {"real.yaml": MARKED})
    (repo / "link.yaml").symlink_to(outside / "x.yaml")
    (repo / "linkdir").symlink_to(outside / "dir", target_is_directory=True)
    (repo / "inside-link.yaml").symlink_to(repo / "real.yaml")

    changes = setters.apply(VALUES, root=repo)
    assert [f.path for f in changes.files] == ["real.yaml"]  # once, not again via inside-link
    assert (outside / "x.yaml").read_text() == MARKED
    assert (outside / "dir" / "y.yaml").read_text() == MARKED
    assert (repo / "link.yaml").is_symlink() and (repo / "inside-link.yaml").is_symlink()

    named = setters.apply(VALUES, root=repo, paths=[Path("link.yaml"), Path("linkdir")])
    assert named.files == ()
    assert [(e.path, "outside the repository" in e.message) for e in named.errors] == [
        ("link.yaml", True), ("linkdir", True),
    ]
    assert (outside / "x.yaml").read_text() == MARKED


def test_missing_and_outside_paths_are_reported(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _make(repo, {"a.yaml": MARKED})
    changes = setters.apply(VALUES, root=repo, paths=[Path("nope"), tmp_path, Path("a.yaml")])
    assert [f.path for f in changes.files] == ["a.yaml"]
    assert [e.message for e in changes.errors] == [
        f"no such file or directory under {repo.resolve()}", f"outside the repository root {repo.resolve()}; skipped",
    ]


def test_unreadable_file_is_reported_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make(tmp_path, {"a.yaml": MARKED, "b.yaml": MARKED})
    real_read = _files.read_file

    def read(path: Path) -> bytes:  # a platform edge: tests run as root, so chmod cannot do it
        if path.name == "a.yaml":
            raise PermissionError(13, "Permission denied")
        return real_read(path)

    monkeypatch.setattr(_files, "read_file", read)
    changes = setters.apply(VALUES, root=tmp_path)
    assert [str(e) for e in changes.errors] == ["a.yaml: cannot read: Permission denied"]
    assert [f.path for f in changes.files] == ["b.yaml"]
