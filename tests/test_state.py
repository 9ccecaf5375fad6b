"""``StateStore``: the SQLite record of when each tag was first seen and with which digests.

Aspects under test:
* first sight records ``now``; later records keep ``first_seen`` and add only new tags;
* ``first_digest`` is kept while ``last_digest`` follows a re-pushed tag; a run without a digest
  for a tag leaves its digests alone;
* repositories are isolated; records survive closing and reopening the file;
* timezone-aware times round-trip; ``:memory:`` works; the parent directory is created;
* an unusable path is a ``ConfigError`` that names it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagebot.errors import ConfigError
from imagebot.model.ids import Digest, ObjectKey, Tag
from imagebot.model.scans import Lease, SharedListing
from imagebot.state import StateStore, TagRecord

T0 = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(hours=6)
T2 = T0 + datetime.timedelta(days=2)
D1 = Digest("sha256:" + "1" * 64)
D2 = Digest("sha256:" + "2" * 64)
D3 = Digest("sha256:" + "3" * 64)
REPO = "ghcr.io/org/app"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state.db") as state:
        yield state


def test_first_sight_is_recorded(store: StateStore) -> None:
    records = store.record(REPO, [Tag("v1"), Tag("v2")], {Tag("v1"): D1}, now=T0)
    assert records == {
        Tag("v1"): TagRecord(first_seen=T0, first_digest=D1, last_digest=D1),
        Tag("v2"): TagRecord(first_seen=T0, first_digest=None, last_digest=None),
    }


def test_first_seen_is_kept_on_re_record_and_new_tags_get_now(store: StateStore) -> None:
    store.record(REPO, [Tag("v1")], {}, now=T0)
    records = store.record(REPO, [Tag("v1"), Tag("v2")], {}, now=T1)
    assert records[Tag("v1")].first_seen == T0
    assert records[Tag("v2")].first_seen == T1


def test_re_pushed_tag_keeps_first_digest_and_moves_last_digest(store: StateStore) -> None:
    store.record(REPO, [Tag("v1")], {Tag("v1"): D1}, now=T0)
    store.record(REPO, [Tag("v1")], {Tag("v1"): D2}, now=T1)
    records = store.record(REPO, [Tag("v1")], {Tag("v1"): D3}, now=T2)
    assert records[Tag("v1")] == TagRecord(first_seen=T0, first_digest=D1, last_digest=D3)


def test_digest_found_later_becomes_the_first_digest(store: StateStore) -> None:
    store.record(REPO, [Tag("v1")], {}, now=T0)
    records = store.record(REPO, [Tag("v1")], {Tag("v1"): D2}, now=T1)
    assert records[Tag("v1")] == TagRecord(first_seen=T0, first_digest=D2, last_digest=D2)


def test_a_run_without_digest_keeps_the_known_digests(store: StateStore) -> None:
    store.record(REPO, [Tag("v1")], {Tag("v1"): D1}, now=T0)
    records = store.record(REPO, [Tag("v1")], {}, now=T1)
    assert records[Tag("v1")] == TagRecord(first_seen=T0, first_digest=D1, last_digest=D1)


def test_tags_missing_from_a_later_scan_are_remembered(store: StateStore) -> None:
    store.record(REPO, [Tag("v1"), Tag("v2")], {}, now=T0)
    assert set(store.record(REPO, [Tag("v2")], {}, now=T1)) == {Tag("v1"), Tag("v2")}


def test_digest_for_an_unlisted_tag_is_not_recorded(store: StateStore) -> None:
    records = store.record(REPO, [Tag("v1")], {Tag("ghost"): D1}, now=T0)
    assert set(records) == {Tag("v1")}


def test_record_digests_moves_last_keeps_first_and_leaves_unknown_tags_out(store: StateStore) -> None:
    """The digests a run looks up after its scan (the selected tags) are recorded without reading
    every record of the repository back."""
    store.record(REPO, [Tag("v1"), Tag("v2")], {Tag("v1"): D1}, now=T0)
    store.record_digests({REPO: {Tag("v1"): D2, Tag("v2"): D3, Tag("ghost"): D1},
                          "ghcr.io/org/other": {Tag("v1"): D1}})
    assert store.records(REPO) == {Tag("v1"): TagRecord(T0, D1, D2), Tag("v2"): TagRecord(T0, D3, D3)}
    assert store.records("ghcr.io/org/other") == {}


def test_repositories_are_isolated(store: StateStore) -> None:
    store.record("ghcr.io/org/a", [Tag("v1")], {Tag("v1"): D1}, now=T0)
    store.record("ghcr.io/org/b", [Tag("v1")], {Tag("v1"): D2}, now=T1)
    assert store.records("ghcr.io/org/a") == {Tag("v1"): TagRecord(T0, D1, D1)}
    assert store.records("ghcr.io/org/b") == {Tag("v1"): TagRecord(T1, D2, D2)}
    assert store.records("ghcr.io/org/c") == {}


def test_records_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "state.db"  # parents are created
    with StateStore(path) as state:
        state.record(REPO, [Tag("v1")], {Tag("v1"): D1}, now=T0)
    with StateStore(str(path)) as state:
        assert state.records(REPO) == {Tag("v1"): TagRecord(T0, D1, D1)}
        assert state.record(REPO, [Tag("v1")], {Tag("v1"): D2}, now=T1)[Tag("v1")] == TagRecord(T0, D1, D2)


def test_timezone_aware_times_round_trip(store: StateStore) -> None:
    cest = datetime.timezone(datetime.timedelta(hours=2))
    now = datetime.datetime(2026, 6, 1, 8, 30, 15, 123456, tzinfo=cest)
    [record] = store.record(REPO, [Tag("v1")], {}, now=now).values()
    assert record.first_seen == now
    assert record.first_seen.utcoffset() == datetime.timedelta(hours=2)


def test_in_memory_store() -> None:
    with StateStore(":memory:") as state:
        assert state.record(REPO, [Tag("v1")], {}, now=T0) == {Tag("v1"): TagRecord(T0, None, None)}


def test_failed_record_rolls_back(store: StateStore) -> None:
    store.record(REPO, [Tag("v1")], {}, now=T0)

    def tags() -> Iterator[Tag]:
        yield Tag("v2")
        raise RuntimeError("listing interrupted")

    with pytest.raises(RuntimeError):
        store.record(REPO, tags(), {}, now=T1)
    assert set(store.records(REPO)) == {Tag("v1")}


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param("parent-is-a-file", id="parent-is-a-file"),
        pytest.param("path-is-a-directory", id="path-is-a-directory"),
        pytest.param("not-a-database", id="not-a-database"),
    ],
)
def test_unusable_path_is_a_config_error(tmp_path: Path, layout: str) -> None:
    if layout == "parent-is-a-file":
        (tmp_path / "file").write_text("")
        path = tmp_path / "file" / "state.db"
    elif layout == "path-is-a-directory":
        path = tmp_path / "dir"
        path.mkdir()
    else:
        path = tmp_path / "state.db"
        path.write_bytes(b"this is not an sqlite database, just some bytes " * 100)
    way_out = r"--reset-state to move it aside" if layout == "not-a-database" else r"\(choose another --state path\)$"
    with pytest.raises(ConfigError, match=way_out) as exc:
        StateStore(path)
    assert str(exc.value).startswith(f"state store {path}: ")


def test_a_state_file_from_before_the_sync_loop_opens_and_gains_its_tables(tmp_path: Path) -> None:
    import sqlite3

    from imagebot.model.cluster import AppState, SyncRecord

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(  # the schema as it was before app_status / sync_history
        "CREATE TABLE tags (repository TEXT NOT NULL, tag TEXT NOT NULL, first_seen TEXT NOT NULL, "
        "first_digest TEXT, last_digest TEXT, PRIMARY KEY (repository, tag)) WITHOUT ROWID;"
        "CREATE TABLE automation_status (key TEXT PRIMARY KEY, ran_at TEXT NOT NULL, error TEXT, "
        "last_commit TEXT, last_pull_request TEXT, last_change_at TEXT);"
        f"INSERT INTO tags VALUES ('{REPO}', 'v1', '{T0.isoformat()}', NULL, NULL);")
    old.commit()
    old.close()
    with StateStore(path) as store:
        assert list(store.records(REPO)) == [Tag("v1")]
        assert store.app("argocd/web") is None and store.history("argocd/web") == ()
        store.record_app(AppState(unit="argocd/web", revision="a" * 40, sync="Synced", health="Healthy",
                                  checked_at=T0))
        for n in range(4):
            store.record_sync(SyncRecord(unit="argocd/web", revision=str(n) * 40, result="Succeeded",
                                         started_at=T0, finished_at=T1, changed=n), limit=3)
        assert [r.changed for r in store.history("argocd/web")] == [1, 2, 3]
        state = store.app("argocd/web")
        assert state is not None and state.ready_at("a" * 12) and state.last_result is None


def test_a_check_without_a_sync_keeps_the_last_sync_result(store: StateStore) -> None:
    from imagebot.model.cluster import AppState

    synced = AppState(unit="argocd/web", revision="a" * 40, sync="Synced", health="Progressing", checked_at=T0,
                      last_result="Failed", last_synced_at=T0, last_error="boom")
    store.record_app(synced)
    store.record_app(AppState(unit="argocd/web", revision="a" * 40, sync="OutOfSync", health="Healthy",
                              checked_at=T1))
    state = store.app("argocd/web")
    assert state is not None
    assert (state.sync, state.health, state.checked_at) == ("OutOfSync", "Healthy", T1)
    assert (state.last_result, state.last_synced_at, state.last_error) == ("Failed", T0, "boom")


# listings shared by shards (issue 11): claim, wait on a live claim, reuse a fresh listing


KEY = ObjectKey("flux-system", "app")
FIVE_MINUTES = datetime.timedelta(minutes=5)


def _claim(store: StateStore, owner: str, now: datetime.datetime, *, fingerprint: str = "f1",
           alive: bool = True) -> object:
    return store.claim_listing(KEY, fingerprint, owner=owner, now=now, fresh_for=FIVE_MINUTES,
                               lease_for=datetime.timedelta(minutes=1), alive=lambda _: alive)


def test_the_first_shard_claims_the_next_waits_then_reuses(store: StateStore) -> None:
    assert _claim(store, "a", T0) is None  # a lists
    lease = _claim(store, "b", T0 + datetime.timedelta(seconds=1))
    assert isinstance(lease, Lease) and lease.owner == "a"
    store.store_listing(KEY, "f1", SharedListing((Tag("v2"), Tag("v1")), T0, "http://r"), owner="a")
    reused = _claim(store, "b", T0 + datetime.timedelta(seconds=2))
    assert reused == SharedListing((Tag("v2"), Tag("v1")), T0, "http://r")


def test_a_listing_older_than_the_interval_is_listed_again(store: StateStore) -> None:
    assert _claim(store, "a", T0) is None
    store.store_listing(KEY, "f1", SharedListing((Tag("v1"),), T0), owner="a")
    assert _claim(store, "b", T0 + FIVE_MINUTES) is None  # b lists now; a waits for b
    assert isinstance(_claim(store, "a", T0 + FIVE_MINUTES), Lease)


def test_a_listing_for_another_spec_is_not_reused(store: StateStore) -> None:
    assert _claim(store, "a", T0) is None
    store.store_listing(KEY, "f1", SharedListing((Tag("v1"),), T0), owner="a")
    assert _claim(store, "b", T0, fingerprint="f2") is None


def test_an_expired_or_dead_claim_is_taken_over(store: StateStore) -> None:
    assert _claim(store, "a", T0) is None
    assert _claim(store, "b", T0 + datetime.timedelta(minutes=2)) is None  # the lease ran out
    assert _claim(store, "c", T0 + datetime.timedelta(minutes=2), alive=False) is None  # b is gone


def test_a_released_claim_lets_the_next_shard_list(store: StateStore) -> None:
    assert _claim(store, "a", T0) is None
    store.release_listing(KEY, owner="a")
    assert _claim(store, "b", T0) is None


def test_claims_are_shared_through_the_file(tmp_path: Path) -> None:
    with StateStore(tmp_path / "s.db") as one, StateStore(tmp_path / "s.db") as two:
        assert _claim(one, "a", T0) is None
        assert isinstance(_claim(two, "b", T0), Lease)
        one.store_listing(KEY, "f1", SharedListing((Tag("v1"),), T0), owner="a")
        assert isinstance(_claim(two, "b", T0), SharedListing)


def test_concurrent_writers_of_sync_history_wait_for_each_other(tmp_path: Path) -> None:
    # the sync loop records from several worker threads at once; a transaction that reads
    # before it writes must not fail with "database is locked" (seen on the real apiserver test)
    import threading

    from imagebot.model.cluster import SyncRecord

    path = tmp_path / "state.db"
    StateStore(path).close()
    errors: list[BaseException] = []

    def write(unit: str) -> None:
        try:
            with StateStore(path) as store:
                for n in range(40):
                    store.record_sync(SyncRecord(unit=unit, revision=str(n % 10) * 40, result="Succeeded",
                                                 started_at=T0, finished_at=T1), limit=5)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"argocd/app-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with StateStore(path) as store:
        assert [len(store.history(f"argocd/app-{i}")) for i in range(4)] == [5, 5, 5, 5]


def test_sync_loop_writes_to_a_file_locked_past_the_wait_go_on_unrecorded(tmp_path: Path) -> None:
    """The sync loop's and rollback's records, like the scan's: another process holding the file
    locked past ``wait`` seconds is logged and named in ``unrecorded`` (the sync itself is done);
    it raised sqlite3.OperationalError out of the loop's check and ``imagebot sync --state``."""
    import sqlite3

    from imagebot.model.cluster import AppState, SyncRecord
    from imagebot.model.history import Rollback

    path = tmp_path / "state.db"
    StateStore(path).close()
    holder = sqlite3.connect(str(path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with StateStore(path, wait=0.05) as store:
            store.record_app(AppState(unit="argocd/web", revision="a" * 40, sync="Synced", health="Healthy",
                                      checked_at=T0))
            store.record_sync(SyncRecord(unit="argocd/web", revision="a" * 40, result="Succeeded",
                                         started_at=T0, finished_at=T1), limit=5)
            store.forget_app("argocd/old")
            store.record_rollback(Rollback(ObjectKey("flux-system", "web"), Tag("1.1.0"), "b" * 40, T1,
                                           "argocd/web"))
            assert store.unrecorded == ["app status", "sync history", "forgotten app", "rollback"]
        with StateStore(path, wait=0.05) as store:  # a shard lists without sharing, and says so
            assert _claim(store, "a", T0) is None
            store.store_listing(KEY, "f1", SharedListing((Tag("v1"),), T0), owner="a")
            store.release_listing(KEY, owner="a")
            assert store.unrecorded == ["shared listings", "shared listings", "shared listings"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with StateStore(path) as store:
        assert store.apps() == {} and store.rollbacks() == {}
