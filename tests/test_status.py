"""``imagebot status``: the state store's last-outcome records, as text and JSON, without servers.

Aspects: a failed scan keeps the last good tag count; a run that changed nothing keeps the last
commit; held-back tags are shown; the exit status says whether something failed; a missing store
is a clear error.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from imagebot import cli
from imagebot.model.ids import ObjectKey
from imagebot.model.status import AutomationStatus, PolicyStatus, RepositoryStatus
from imagebot.state import StateStore

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(minutes=5)
APP = ObjectKey("flux-system", "app")


def test_records_keep_the_last_good_values(tmp_path: Path) -> None:
    with StateStore(tmp_path / "s.db") as store:
        store.record_repositories([RepositoryStatus(APP, "ghcr.io/org/app", T0, 12, None, T0)])
        store.record_repositories([RepositoryStatus(APP, "ghcr.io/org/app", T1, None, "registry down")])
        store.record_automation(AutomationStatus(APP, T0, None, "main@abc123", None, T0))
        store.record_automation(AutomationStatus(APP, T1))
        status = store.status()

    assert status.repositories == (RepositoryStatus(APP, "ghcr.io/org/app", T1, 12, "registry down", T0),)
    assert status.automations == (AutomationStatus(APP, T1, None, "main@abc123", None, T0),)


def _seed(path: Path, *, error: str | None = None) -> None:
    with StateStore(path) as store:
        store.record_repositories([RepositoryStatus(APP, "ghcr.io/org/app", T0, 3, None, T0)])
        store.record_policies([PolicyStatus(APP, T0, "1.2.0", "semver '>=1.0.0': 1.2.0 of 3 tags",
                                            ("1.3.0 (eligible at 2026-03-02T12:00:00+00:00)",))])
        store.record_automation(AutomationStatus(APP, T1, error, "main@0123456789ab", None, T0))


def test_status_prints_what_flux_get_images_all_shows(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _seed(tmp_path / "s.db")

    code = cli.main(["status", "--state", str(tmp_path / "s.db")])

    out = capsys.readouterr().out
    assert code == 0
    assert "flux-system/app  2026-03-01T12:00:00Z  3     True" in out
    assert "1.2.0" in out and "held back: 1.3.0 (eligible at 2026-03-02T12:00:00+00:00)" in out
    assert "last commit main@0123456789ab" in out


def test_status_json_and_a_failure_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(tmp_path / "s.db", error="push rejected by hook")

    code = cli.main(["status", "--json", "--state", str(tmp_path / "s.db")])

    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert document["repositories"][0] == {
        "name": "flux-system/app", "image": "ghcr.io/org/app", "lastScan": "2026-03-01T12:00:00Z",
        "tags": 3, "ready": True, "error": None, "lastSuccess": "2026-03-01T12:00:00Z",
    }
    assert document["policies"][0]["latest"] == "1.2.0"
    assert document["automations"][0]["error"] == "push rejected by hook"
    assert document["automations"][0]["lastCommit"] == "main@0123456789ab"


def test_status_without_a_store_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["status", "--state", str(tmp_path / "missing.db")])

    assert code == 2
    assert "run 'imagebot run' or 'imagebot serve' first" in capsys.readouterr().err
