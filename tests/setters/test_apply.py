"""``setters.plan``/``write``/``apply`` as the pipeline uses them: the ChangeSet, atomic writes,
errors reported per file while the run goes on, and values checked before anything is read."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from imagebot import publish, setters
from imagebot.model.changes import ChangeSet, FieldChange, FileChange, ObjectId
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.images import ImageRef
from tests.setters.helpers import VALUES

MARKED = 'image: redis:7.0 # {"$imagepolicy": "flux-system:redis"}\n'
UPDATED = 'image: redis:7.4.1 # {"$imagepolicy": "flux-system:redis"}\n'
REDIS = ObjectKey("flux-system", "redis")


def test_mode_is_kept_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    target = tmp_path / "a.yaml"
    target.write_text(MARKED)
    target.chmod(0o640)
    setters.apply(VALUES, root=tmp_path)
    assert target.read_text() == UPDATED
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["a.yaml"]


def test_a_file_changed_after_planning_is_not_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "a.yaml"
    target.write_text(MARKED)
    planned = setters.plan(VALUES, root=tmp_path)
    target.write_text(MARKED + "# edited meanwhile\n")
    changes = setters.write(planned)
    assert changes.files == ()
    assert [str(e) for e in changes.errors] == [
        "a.yaml: changed on disk since it was read; not written"
    ]
    assert target.read_text() == MARKED + "# edited meanwhile\n"


def test_a_file_gone_after_planning_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MARKED)
    planned = setters.plan(VALUES, root=tmp_path)
    (tmp_path / "a.yaml").unlink()
    changes = setters.write(planned)
    assert [e.message.startswith("cannot write") for e in changes.errors] == [True]


def test_bad_files_are_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "a-broken.yaml").write_text("a: [\n" + MARKED)
    (tmp_path / "b-latin1.yaml").write_bytes(b"x: 1\nname: caf\xe9\n" + MARKED.encode())
    (tmp_path / "c-good.yaml").write_text(MARKED)
    changes = setters.apply(VALUES, root=tmp_path)
    assert [f.path for f in changes.files] == ["c-good.yaml"]
    assert [(e.path, e.line) for e in changes.errors] == [("a-broken.yaml", 3), ("b-latin1.yaml", 2)]
    assert "not UTF-8" in changes.errors[1].message
    assert (tmp_path / "a-broken.yaml").read_text() == "a: [\n" + MARKED


def test_markers_for_unknown_policies_are_left_alone_with_a_debug_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a.yaml").write_text(MARKED)
    with caplog.at_level(logging.DEBUG, logger="imagebot.setters"):
        changes = setters.apply({ObjectKey("other", "redis"): VALUES[REDIS]}, root=tmp_path)
    assert changes == ChangeSet()
    assert "a.yaml:1: no value for policy flux-system:redis" in caplog.text
    assert (tmp_path / "a.yaml").read_text() == MARKED


def test_digest_marker_without_digest_is_unchanged_and_warned(tmp_path: Path) -> None:
    text = 'digest: sha256:' + "b" * 64 + ' # {"$imagepolicy": "flux-system:redis:digest"}\n'
    (tmp_path / "a.yaml").write_text(text)
    changes = setters.apply(VALUES, root=tmp_path)
    assert changes.files == ()
    assert [str(w) for w in changes.warnings] == [
        "a.yaml:1: flux-system:redis:digest: the policy has no digest; value left unchanged"
    ]
    assert (tmp_path / "a.yaml").read_text() == text


def test_explicitly_tagged_non_strings_are_left_alone(tmp_path: Path) -> None:
    text = 'tag: !!int 5 # {"$imagepolicy": "flux-system:redis:tag"}\n'
    (tmp_path / "a.yaml").write_text(text)
    changes = setters.apply(VALUES, root=tmp_path)
    assert changes.files == ()
    assert "explicit tag" in changes.warnings[0].message


def test_invalid_values_are_refused_before_any_file_is_touched(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MARKED)
    with pytest.raises(ValueError, match="invalid tag"):
        setters.apply({REDIS: ImageRef("redis", Tag("7.4.1\nevil: true"))}, root=tmp_path)
    assert (tmp_path / "a.yaml").read_text() == MARKED


def test_files_without_the_keyword_are_never_parsed(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("{{ if .Values.x }}\nimage: redis:7.0\n{{ end }}\n")
    assert setters.apply(VALUES, root=tmp_path) == ChangeSet()


def test_report_fields_and_flux_template_views(tmp_path: Path) -> None:
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\n"
        "spec:\n  containers:\n  - " + MARKED.replace("image", "image", 1)
    )
    (tmp_path / "a.yaml").write_text(deployment)
    (tmp_path / "b.yaml").write_text(MARKED)
    changes = setters.apply(VALUES, root=tmp_path)
    web = ObjectId("apps/v1", "Deployment", "apps", "web")
    first = FieldChange(8, "flux-system:redis", REDIS, "redis:7.0", "redis:7.4.1", web)
    second = FieldChange(1, "flux-system:redis", REDIS, "redis:7.0", "redis:7.4.1", ObjectId())
    assert changes.files == (FileChange("a.yaml", (first,)), FileChange("b.yaml", (second,)))
    # Flux's template views are built by publish from these values
    views = publish.template_data(ObjectKey("flux-system", "apps"), changes).Changed
    assert [str(c) for c in views.Changes] == ["{redis:7.0 redis:7.4.1 flux-system:redis}"]  # de-duplicated
    assert list(views.FileChanges) == ["a.yaml", "b.yaml"]
    assert [o.Kind for o in views.Objects] == ["", "Deployment"]
    assert str(web) == "Deployment/apps/web"
    assert str(ObjectId()) == "-"


def test_paths_limit_the_walk_and_report_paths_relative_to_the_root(tmp_path: Path) -> None:
    for rel in ("apps/a.yaml", "infra/b.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(MARKED)
    changes = setters.apply(VALUES, root=tmp_path, paths=[Path("apps")])
    assert [f.path for f in changes.files] == ["apps/a.yaml"]
    assert (tmp_path / "infra/b.yaml").read_text() == MARKED
