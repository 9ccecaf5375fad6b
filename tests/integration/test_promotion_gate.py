"""Promotion gates (``imagebot.dev/promote-after``) with `imagebot plan` and `run`: a real registry
and git remote; the gating Application's last check is what the state store holds (``app_status``,
as serve's sync loop or ``imagebot sync --state`` write it).

Aspects: never checked, the change waits and plan says for what (text and JSON); Synced but
Progressing still waits; Synced and Healthy at a revision whose files hold the old tag still waits;
Synced and Healthy at a revision carrying the new tag lets the change through; the ungated
automation is never held.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from imagebot import cli, state
from imagebot.model.cluster import AppState
from testing.gitrepos import git, git_env, make_bare
from tests.integration.test_rollback import files, image, write_config

pytestmark = pytest.mark.integration
__all__ = ["image"]  # the fixture, shared with the rollback tests


def observe(db: Path, revision: str, *, sync: str = "Synced", health: str = "Healthy") -> None:
    with state.StateStore(db) as store:
        store.record_app(AppState(unit="argocd/web-dev", revision=revision, sync=sync,  # type: ignore[arg-type]
                                  health=health, checked_at=datetime.datetime(2026, 12, 7, 2, tzinfo=datetime.UTC)))


def test_prod_waits_until_dev_is_synced_and_healthy_at_a_revision_with_the_same_tag(
    tmp_path: Path, image: str, capsys: pytest.CaptureFixture[str],
) -> None:
    genv = git_env(tmp_path / "git-home")
    bare = make_bare(tmp_path / "gitops.git", files(image), env=genv)
    initial = git("rev-parse", "main", cwd=bare, env=genv).strip()
    cfg = write_config(tmp_path / "policies", image=image, url=f"file://{bare}", promote_prod_after="argocd/web-dev")
    db = tmp_path / "s.db"
    common = ["--config", str(cfg), "--state", str(db), "--workdir", str(tmp_path / "work")]

    assert cli.main(["plan", *common]) == 0
    out = capsys.readouterr().out

    assert ("waiting for Application argocd/web-dev to be Synced and Healthy running "
            f"{image}:1.1.0 (never checked: no sync of it recorded in the state store yet)") in out
    assert "held by its promotion gate: 1 field not yet changed" in out
    assert "summary: 2 automations: 1 would change, 1 waiting for a promotion gate" in out

    observe(db, initial, health="Progressing")
    assert cli.main(["plan", "--json", *common]) == 0
    document = json.loads(capsys.readouterr().out)
    waiting = {a["automation"]: a["waiting"] for a in document["automations"]}
    assert waiting["flux-system/web-dev"] is None
    assert f"(now Synced, Progressing at {initial[:12]}, checked 2026-12-07T02:00:00+00:00)" in \
        waiting["flux-system/web-prod"]
    assert document["summary"]["waiting"] == 1

    observe(db, initial)  # healthy, but at a revision where dev still runs 1.0.0
    assert cli.main(["run", *common]) == 0
    out = capsys.readouterr().out
    assert f"(Synced and Healthy at {initial[:12]}" in out and f"its files there hold {image}:1.0.0" in out
    assert f"{image}:1.0.0" in git("show", "main:apps/web/overlays/prod/deploy.yaml", cwd=bare, env=genv)
    dev_commit = git("rev-parse", "main", cwd=bare, env=genv).strip()
    assert f"{image}:1.1.0" in git("show", "main:apps/web/overlays/dev/deploy.yaml", cwd=bare, env=genv)

    observe(db, dev_commit)
    assert cli.main(["run", *common]) == 0
    out = capsys.readouterr().out

    assert "summary: 2 automations: 1 committed, 1 unchanged" in out
    assert f"{image}:1.1.0" in git("show", "main:apps/web/overlays/prod/deploy.yaml", cwd=bare, env=genv)
