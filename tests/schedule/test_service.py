"""The service's scheduling, with APScheduler started paused (nothing runs by itself): each
object at its interval, suspend honoured, reload on change keeping the old configuration when the
new one is invalid, webhook triggers coalescing, shutdown abandoning before a push, sharding."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagebot.errors import ConfigError
from imagebot.model.ids import ObjectKey
from imagebot.schedule import Abandoned, ServeSettings, Service
from tests.schedule.conftest import automation, repository

KEY = ObjectKey("flux-system", "app")


@pytest.fixture
def service(policies: Path, tmp_path: Path) -> Iterator[Service]:
    service = Service(ServeSettings(config_path=policies, state_path=tmp_path / "state.db", watch=0,
                                    grace=1))
    service.start(paused=True)
    yield service
    service.stop(0)


def test_every_repository_and_automation_is_scheduled_at_its_interval_and_suspended_ones_are_not(
    service: Service,
) -> None:
    assert service.scheduled() == [
        "automation:flux-system/apps", "scan:flux-system/app", "scan:flux-system/web",
    ]
    assert service.interval_of("scan:flux-system/app") == datetime.timedelta(minutes=1)
    assert service.interval_of("scan:flux-system/web") == datetime.timedelta(seconds=30)
    assert service.interval_of("automation:flux-system/apps") == datetime.timedelta(minutes=2)
    assert service.ready


def test_a_changed_directory_is_reloaded_without_a_restart(service: Service, policies: Path) -> None:
    (policies / "repos.yaml").write_text(
        repository("app", "127.0.0.1:1/org/app", "5m") + "---\n" + repository("new", "127.0.0.1:1/org/new"))
    (policies / "automations.yaml").write_text(automation("apps", "2m", suspend=True))

    service.check_config()

    assert service.scheduled() == ["scan:flux-system/app", "scan:flux-system/new"]
    assert service.interval_of("scan:flux-system/app") == datetime.timedelta(minutes=5)
    assert service.config_error is None


def test_an_invalid_new_configuration_keeps_the_old_one_running(
    service: Service, policies: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    before = service.scheduled()
    (policies / "repos.yaml").write_text("kind: [unclosed\n")

    assert service.reload() is False

    assert service.scheduled() == before
    assert service.cfg.image_repositories[KEY].interval == datetime.timedelta(minutes=1)
    assert service.config_error is not None and "repos.yaml" in service.config_error
    assert "configuration not reloaded, still running the previous one" in caplog.text
    assert service.ready  # still serving the old configuration


def test_a_bad_policy_range_is_a_configuration_error_too(service: Service, policies: Path) -> None:
    text = (policies / "repos.yaml").read_text().replace("'>=1.0.0'", "'>>1'", 1)
    (policies / "repos.yaml").write_text(text)

    assert service.reload() is False
    assert service.scheduled() == [
        "automation:flux-system/apps", "scan:flux-system/app", "scan:flux-system/web",
    ]


def test_a_configuration_that_does_not_load_at_start_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("kind: [unclosed\n")
    service = Service(ServeSettings(config_path=tmp_path, state_path=tmp_path / "s.db", watch=0))

    with pytest.raises(ConfigError):
        service.start(paused=True)


def test_webhook_triggers_for_one_repository_coalesce_while_one_is_queued(service: Service) -> None:
    assert service.trigger_scan([KEY]) == [KEY]
    assert service.trigger_scan([KEY, KEY]) == []
    assert service.trigger_scan([ObjectKey("flux-system", "web")]) == [ObjectKey("flux-system", "web")]


def test_after_stop_a_run_is_abandoned_before_it_pushes(service: Service) -> None:
    service._before_push()  # not stopping: nothing happens

    assert service.stop(0) is True
    with pytest.raises(Abandoned):
        service._before_push()
    assert service.trigger_scan([KEY]) == []
    assert not service.ready


def test_shards_split_the_automations_and_scan_only_what_they_use(policies: Path, tmp_path: Path) -> None:
    text = "---\n".join(automation(f"a{i}") for i in range(8))
    (policies / "automations.yaml").write_text(text)
    seen: list[str] = []
    for index in range(3):
        service = Service(ServeSettings(config_path=policies, state_path=tmp_path / "s.db", watch=0,
                                        shard=(index, 3)))
        service.start(paused=True)
        jobs = service.scheduled()
        service.stop(0)
        mine = [j for j in jobs if j.startswith("automation:")]
        seen.extend(mine)
        scans = [j for j in jobs if j.startswith("scan:")]
        assert scans == (["scan:flux-system/app", "scan:flux-system/web"] if mine else [])
    assert sorted(seen) == [f"automation:flux-system/a{i}" for i in range(8)]
