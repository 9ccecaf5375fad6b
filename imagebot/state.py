"""The local state store: every tag imagebot has seen, when it first saw it, and its digests.

SQLite (the CLI's default is ``state.db`` in imagebot's home, :func:`imagebot.config.home`).
Written by :mod:`imagebot.scan` after each repository listing; read back into
``TagList.first_seen`` / ``first_digests`` so the policy stage can apply
cooldowns and detect re-pushed tags. It also keeps the last outcome of each repository, policy and
automation (:mod:`imagebot.model.status`), written by the pipeline and read by ``imagebot status``,
and what ``imagebot serve``'s sync loop saw of each Application (last state, bounded sync history),
read by ``imagebot apps`` and promotion gates.
One connection per thread; WAL mode lets readers and writers coexist.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from imagebot.errors import ConfigError
from imagebot.model.cluster import AppState, SyncRecord
from imagebot.model.history import Rollback
from imagebot.model.ids import Digest, ObjectKey, Tag
from imagebot.model.scans import Lease, SharedListing, TagRecord
from imagebot.model.status import AutomationStatus, PolicyStatus, RepositoryStatus, Status

__all__ = ["DEFAULT_WAIT", "StateStore", "TagRecord"]

logger = logging.getLogger("imagebot.state")

DEFAULT_WAIT = 30.0
"""Seconds a write waits for a state file another process holds locked (``--state-wait``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    repository   TEXT NOT NULL,
    tag          TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    first_digest TEXT,
    last_digest  TEXT,
    PRIMARY KEY (repository, tag)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS repository_status (
    key          TEXT PRIMARY KEY,
    image        TEXT NOT NULL,
    scanned_at   TEXT NOT NULL,
    tag_count    INTEGER,
    error        TEXT,
    last_success TEXT
);
CREATE TABLE IF NOT EXISTS policy_status (
    key          TEXT PRIMARY KEY,
    evaluated_at TEXT NOT NULL,
    latest       TEXT,
    reason       TEXT NOT NULL,
    held_back    TEXT NOT NULL,
    error        TEXT
);
CREATE TABLE IF NOT EXISTS listings (
    key          TEXT PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    scanned_at   TEXT,
    tags         TEXT,
    endpoint     TEXT,
    owner        TEXT,
    lease_until  TEXT
);
CREATE TABLE IF NOT EXISTS automation_status (
    key               TEXT PRIMARY KEY,
    ran_at            TEXT NOT NULL,
    error             TEXT,
    last_commit       TEXT,
    last_pull_request TEXT,
    last_change_at    TEXT
);
CREATE TABLE IF NOT EXISTS app_status (
    unit            TEXT PRIMARY KEY,
    revision        TEXT NOT NULL,
    sync            TEXT NOT NULL,
    health          TEXT NOT NULL,
    checked_at      TEXT NOT NULL,
    synced_revision TEXT,
    why             TEXT NOT NULL,
    last_result     TEXT,
    last_synced_at  TEXT,
    last_error      TEXT
);
CREATE TABLE IF NOT EXISTS sync_history (
    unit        TEXT NOT NULL,
    id          INTEGER NOT NULL,
    revision    TEXT NOT NULL,
    result      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    changed     INTEGER NOT NULL,
    trigger     TEXT NOT NULL,
    message     TEXT NOT NULL,
    PRIMARY KEY (unit, id)
);
CREATE TABLE IF NOT EXISTS rollbacks (
    policy       TEXT PRIMARY KEY,
    tag          TEXT NOT NULL,
    revision     TEXT NOT NULL,
    at           TEXT NOT NULL,
    application  TEXT NOT NULL
);
"""
# Schema changes are additive (new tables, CREATE ... IF NOT EXISTS): a state file written by an
# older imagebot opens unchanged and gains the new tables on first use.


def _key(text: str) -> ObjectKey:
    namespace, _, name = text.partition("/")
    return ObjectKey(namespace, name)


def _time(text: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(text) if text else None


class StateStore:
    """``with StateStore(path) as state: state.record(repo, tags, digests, now=...)``."""

    def __init__(self, path: Path | str, *, wait: float | None = None) -> None:
        self.path = Path(path)
        self.wait = DEFAULT_WAIT if wait is None else wait
        self.unrecorded: list[str] = []
        """What could not be written because another process held the file locked past ``wait``
        seconds (the run went on; its caller reports it)."""
        try:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # a busy writer (the scheduler's jobs, another run) is waited for, up to `wait`
            self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=self.wait)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: no fsync per transaction; a crash loses at most the last scans'
            # first-seen records, which the next scan writes again
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.OperationalError) as exc:  # cannot open or write: not the file's fault
            raise ConfigError(f"state store {self.path}: {exc} (choose another --state path)") from None
        except sqlite3.DatabaseError as exc:  # a file that is not (or no longer) a database
            raise ConfigError(
                f"state store {self.path}: {exc} (pass --reset-state to move it aside and start a new "
                "one; first-seen times then restart, so cooldowns count from now)"
            ) from None
        except sqlite3.Error as exc:
            raise ConfigError(f"state store {self.path}: {exc} (choose another --state path)") from None

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def records(self, repository: str) -> dict[Tag, TagRecord]:
        return self.records_many([repository])[repository]

    def records_many(self, repositories: Iterable[str]) -> dict[str, dict[Tag, TagRecord]]:
        """Every record of each repository, in as few queries as SQLite's parameter limit allows."""
        wanted = list(dict.fromkeys(repositories))
        found: dict[str, dict[Tag, TagRecord]] = {repo: {} for repo in wanted}
        times: dict[str, datetime.datetime] = {}  # a scan gives many tags one first-seen time
        for chunk in range(0, len(wanted), 500):
            part = wanted[chunk:chunk + 500]
            rows = self._db.execute(
                "SELECT repository, tag, first_seen, first_digest, last_digest FROM tags "
                f"WHERE repository IN ({','.join('?' * len(part))})",
                part,
            )
            for repository, tag, seen, first, last in rows:
                when = times.get(seen)
                if when is None:
                    when = times[seen] = datetime.datetime.fromisoformat(seen)
                found[repository][Tag(tag)] = TagRecord(
                    when, Digest(first) if first else None, Digest(last) if last else None
                )
        return found

    def known_digests(self, repositories: Iterable[str]) -> dict[str, frozenset[Tag]]:
        """Per repository, the tags whose digest is already known (one query)."""
        wanted = list(dict.fromkeys(repositories))
        found: dict[str, set[Tag]] = {repo: set() for repo in wanted}
        for chunk in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
            part = wanted[chunk:chunk + 500]
            rows = self._db.execute(
                "SELECT repository, tag FROM tags WHERE last_digest IS NOT NULL AND repository IN "
                f"({','.join('?' * len(part))})",
                part,
            )
            for repository, tag in rows:
                found[repository].add(Tag(tag))
        return {repo: frozenset(tags) for repo, tags in found.items()}

    def record(
        self,
        repository: str,
        tags: Iterable[Tag],
        digests: Mapping[Tag, Digest],
        *,
        now: datetime.datetime,
    ) -> dict[Tag, TagRecord]:
        """Remember new tags (first seen ``now``) and latest digests; return every record."""
        return self.record_many({repository: (tags, digests)}, now=now)[repository]

    def record_many(
        self,
        entries: Mapping[str, tuple[Iterable[Tag], Mapping[Tag, Digest]]],
        *,
        now: datetime.datetime,
    ) -> dict[str, dict[Tag, TagRecord]]:
        """:meth:`record` for many repositories in one transaction.

        Reads what is known first, then writes only what is new (new tags, changed digests):
        a first scan writes everything and reads nothing back, a rescan mostly just reads.
        """
        records = self.records_many(entries)
        new_tags: list[tuple[str, str, str]] = []
        new_digests: list[tuple[str, str, str, str]] = []
        seen = now.isoformat()
        for repository, (tags, digests) in entries.items():
            known = records[repository]
            for tag in tags:
                if tag not in known:
                    new_tags.append((repository, tag, seen))
                    known[tag] = TagRecord(now, None, None)
            for tag, digest in digests.items():
                record = known.get(tag)
                if record is not None and record.last_digest != digest:
                    new_digests.append((digest, digest, repository, tag))
                    known[tag] = TagRecord(record.first_seen, record.first_digest or digest, digest)
        def write() -> None:
            self._db.executemany(
                "INSERT OR IGNORE INTO tags (repository, tag, first_seen) VALUES (?, ?, ?)", new_tags
            )
            self._db.executemany(
                "UPDATE tags SET first_digest = COALESCE(first_digest, ?), last_digest = ? "
                "WHERE repository = ? AND tag = ?",
                new_digests,
            )

        if new_tags or new_digests:
            self._write("tags seen", write)
        return records

    def record_digests(self, digests: Mapping[str, Mapping[Tag, Digest]]) -> None:
        """The latest digest of tags already recorded (a tag's first digest is kept); digests of
        tags never recorded are left out, as in :meth:`record_many`. Reads nothing back: the
        digests a run looks up after its scan (one per policy) need no record of every tag."""
        rows = [(digest, digest, repository, tag, digest)
                for repository, found in digests.items() for tag, digest in found.items()]

        def write() -> None:
            self._db.executemany(
                "UPDATE tags SET first_digest = COALESCE(first_digest, ?), last_digest = ? "
                "WHERE repository = ? AND tag = ? AND last_digest IS NOT ?",
                rows,
            )

        if rows:
            self._write("digests", write)

    # -- listings shared by shards (`--shard`, one state file) -------------------------------------

    def claim_listing(
        self, key: ObjectKey, fingerprint: str, *, owner: str, now: datetime.datetime,
        fresh_for: datetime.timedelta, lease_for: datetime.timedelta, alive: Callable[[str], bool],
    ) -> SharedListing | Lease | None:
        """The listing another shard recorded for ``key`` less than ``fresh_for`` ago (reuse it), or
        the live claim of the shard listing it now (wait, then ask again), or ``None``: the claim
        is the caller's now, for ``lease_for`` — list the repository, then :meth:`store_listing`
        (or :meth:`release_listing` when the listing failed).

        A claim whose owner ``alive(owner)`` says is gone (a killed process) counts as expired.
        ``fingerprint`` stands for what shapes a listing (image, exclusions, mirrors): a listing
        made for another spec is never reused.
        """
        if self.unrecorded:  # locked out before in this run: list without waiting again
            return None
        try:
            return self._claim(key, fingerprint, owner=owner, now=now, fresh_for=fresh_for,
                               lease_for=lease_for, alive=alive)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            self.unrecorded.append("shared listings")
            logger.warning("state store %s: locked by another process for more than %g s; listing %s "
                           "without sharing it", self.path, self.wait, key)
            return None

    def _claim(
        self, key: ObjectKey, fingerprint: str, *, owner: str, now: datetime.datetime,
        fresh_for: datetime.timedelta, lease_for: datetime.timedelta, alive: Callable[[str], bool],
    ) -> SharedListing | Lease | None:
        with self._transaction(immediate=True):  # one claimer at a time across processes
            row = self._db.execute(
                "SELECT fingerprint, scanned_at, tags, endpoint, owner, lease_until FROM listings "
                "WHERE key = ?", (str(key),),
            ).fetchone()
            if row is not None:
                spec, scanned, tags, endpoint, holder, until = row
                when = _time(scanned)
                if spec == fingerprint and when is not None and tags is not None and now - when < fresh_for:
                    return SharedListing(tuple(Tag(t) for t in tags.split("\n") if t), when, endpoint or "")
                lease = _time(until)
                if holder and holder != owner and lease is not None and lease > now and alive(holder):
                    return Lease(holder, lease)
            self._db.execute(
                "INSERT INTO listings (key, fingerprint, owner, lease_until) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until",
                (str(key), fingerprint, owner, (now + lease_for).isoformat()),
            )
        return None

    def store_listing(self, key: ObjectKey, fingerprint: str, listing: SharedListing, *, owner: str) -> None:
        """Record what the claim's owner listed (and drop the claim): other shards reuse it."""
        self._write("shared listings", lambda: self._db.execute(
            "INSERT INTO listings VALUES (?, ?, ?, ?, ?, NULL, NULL) ON CONFLICT(key) DO UPDATE SET "
            "fingerprint = excluded.fingerprint, scanned_at = excluded.scanned_at, tags = excluded.tags, "
            "endpoint = excluded.endpoint, owner = NULL, lease_until = NULL "
            "WHERE owner IS NULL OR owner = ?",
            (str(key), fingerprint, listing.scanned_at.isoformat(), "\n".join(listing.tags),
             listing.endpoint, owner),
        ))

    def release_listing(self, key: ObjectKey, *, owner: str) -> None:
        """Drop the caller's claim without a listing (the scan failed): the next shard lists."""
        self._write("shared listings", lambda: self._db.execute(
            "UPDATE listings SET owner = NULL, lease_until = NULL WHERE key = ? AND owner = ?",
            (str(key), owner),
        ))

    # -- what `imagebot status` shows ------------------------------------------------------------

    def record_repositories(self, statuses: Iterable[RepositoryStatus]) -> None:
        """The latest scan of each repository; a failed scan keeps the last good tag count."""
        rows = [
            (str(s.key), s.image, s.scanned_at.isoformat(), s.tag_count, s.error,
             s.last_success.isoformat() if s.last_success else None)
            for s in statuses
        ]
        self._write("repository status", lambda: self._db.executemany(
            "INSERT INTO repository_status VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
            "image = excluded.image, scanned_at = excluded.scanned_at, "
            "tag_count = COALESCE(excluded.tag_count, tag_count), error = excluded.error, "
            "last_success = COALESCE(excluded.last_success, last_success)",
            rows,
        ))

    def record_policies(self, statuses: Iterable[PolicyStatus]) -> None:
        rows = [
            (str(s.key), s.evaluated_at.isoformat(), s.latest, s.reason, "\n".join(s.held_back), s.error)
            for s in statuses
        ]
        self._write("policy status", lambda: self._db.executemany(
            "INSERT OR REPLACE INTO policy_status VALUES (?, ?, ?, ?, ?, ?)", rows))

    def record_automation(self, status: AutomationStatus) -> None:
        """The latest run of an automation; a run that changed nothing keeps the last commit."""
        self._write("automation status", lambda: self._db.execute(
            "INSERT INTO automation_status VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
            "ran_at = excluded.ran_at, error = excluded.error, "
            "last_commit = COALESCE(excluded.last_commit, last_commit), "
            "last_pull_request = COALESCE(excluded.last_pull_request, last_pull_request), "
            "last_change_at = COALESCE(excluded.last_change_at, last_change_at)",
            (str(status.key), status.ran_at.isoformat(), status.error, status.last_commit,
             status.last_pull_request,
             status.last_change_at.isoformat() if status.last_change_at else None),
        ))

    def status(self) -> Status:
        """Everything recorded, sorted by key."""
        repositories = tuple(
            RepositoryStatus(_key(key), image, datetime.datetime.fromisoformat(scanned), count, error,
                             _time(success))
            for key, image, scanned, count, error, success in self._db.execute(
                "SELECT * FROM repository_status ORDER BY key")
        )
        policies = tuple(
            PolicyStatus(_key(key), datetime.datetime.fromisoformat(when), latest, reason,
                         tuple(held.splitlines()), error)
            for key, when, latest, reason, held, error in self._db.execute(
                "SELECT * FROM policy_status ORDER BY key")
        )
        automations = tuple(
            AutomationStatus(_key(key), datetime.datetime.fromisoformat(ran), error, commit, pr,
                             _time(changed))
            for key, ran, error, commit, pr, changed in self._db.execute(
                "SELECT * FROM automation_status ORDER BY key")
        )
        return Status(repositories, policies, automations)

    # -- what the sync loop saw (``imagebot apps``, promotion gates) ---------------------------

    def record_app(self, state: AppState) -> None:
        """The last check of a unit; a check that did not sync keeps the last sync's result."""
        self._write("app status", lambda: self._db.execute(
            "INSERT INTO app_status VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(unit) DO UPDATE SET revision = excluded.revision, sync = excluded.sync, "
            "health = excluded.health, "
            "checked_at = excluded.checked_at, synced_revision = excluded.synced_revision, "
            "why = excluded.why, last_result = COALESCE(excluded.last_result, last_result), "
            "last_synced_at = COALESCE(excluded.last_synced_at, last_synced_at), "
            "last_error = CASE WHEN excluded.last_result IS NULL THEN last_error "
            "ELSE excluded.last_error END",
            (state.unit, state.revision, state.sync, state.health, state.checked_at.isoformat(),
             state.synced_revision, "\n".join(state.why), state.last_result,
             state.last_synced_at.isoformat() if state.last_synced_at else None, state.last_error),
        ))

    def apps(self) -> dict[str, AppState]:
        """Every unit's last recorded state, by unit name (``argocd/web-dev``)."""
        found: dict[str, AppState] = {}
        for (unit, revision, sync, health, checked, synced, why, result, synced_at,
             error) in self._db.execute("SELECT * FROM app_status ORDER BY unit"):
            found[unit] = AppState(
                unit=unit, revision=revision, sync=sync, health=health,
                checked_at=datetime.datetime.fromisoformat(checked), synced_revision=synced,
                why=tuple(why.splitlines()), last_result=result, last_synced_at=_time(synced_at),
                last_error=error)
        return found

    def app(self, unit: str) -> AppState | None:
        """The last recorded state of one unit (``argocd/web-dev``), or None when never checked."""
        return self.apps().get(unit)

    def forget_app(self, unit: str) -> None:
        """A unit that no longer exists (its ApplicationSet deleted it): its state and history go."""

        def delete() -> None:
            self._db.execute("DELETE FROM app_status WHERE unit = ?", (unit,))
            self._db.execute("DELETE FROM sync_history WHERE unit = ?", (unit,))

        self._write("forgotten app", delete)

    def record_sync(self, record: SyncRecord, *, limit: int) -> None:
        """Append to the unit's history, keeping only the newest ``limit`` entries (Argo CD's
        ``revisionHistoryLimit``; at least one is always kept)."""

        def append() -> None:
            (last,) = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM sync_history WHERE unit = ?",
                                       (record.unit,)).fetchone()
            self._db.execute(
                "INSERT INTO sync_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.unit, last + 1, record.revision, record.result, record.started_at.isoformat(),
                 record.finished_at.isoformat(), record.changed, record.trigger, record.message),
            )
            self._db.execute("DELETE FROM sync_history WHERE unit = ? AND id <= ?",
                             (record.unit, last + 1 - max(1, limit)))

        # reads, then writes: concurrent checks take turns (IMMEDIATE takes the write lock first)
        self._write("sync history", append, immediate=True)

    def history(self, unit: str) -> tuple[SyncRecord, ...]:
        """The unit's sync history, oldest first."""
        return tuple(
            SyncRecord(unit=unit, revision=revision, result=result,
                       started_at=datetime.datetime.fromisoformat(started),
                       finished_at=datetime.datetime.fromisoformat(finished), changed=changed,
                       trigger=trigger, message=message)
            for revision, result, started, finished, changed, trigger, message in self._db.execute(
                "SELECT revision, result, started_at, finished_at, changed, trigger, message "
                "FROM sync_history WHERE unit = ? ORDER BY id", (unit,))
        )

    # -- rollbacks (imagebot rollback) -------------------------

    def record_rollback(self, rollback: Rollback) -> None:
        """A policy's tag was rolled back in Git; replaces an earlier rollback of that policy."""
        self._write("rollback", lambda: self._db.execute(
            "INSERT OR REPLACE INTO rollbacks VALUES (?, ?, ?, ?, ?)",
            (str(rollback.policy), rollback.tag, rollback.revision, rollback.at.isoformat(),
             rollback.application),
        ))

    def rollbacks(self) -> dict[ObjectKey, Rollback]:
        """Every policy's last rollback."""
        return {
            _key(policy): Rollback(_key(policy), Tag(tag), revision, datetime.datetime.fromisoformat(at), app)
            for policy, tag, revision, at, app in self._db.execute("SELECT * FROM rollbacks ORDER BY policy")
        }

    def _write(self, what: str, statements: Callable[[], object], *, immediate: bool = False) -> None:
        """Run ``statements`` in one transaction. When another process holds the file locked for
        longer than ``wait`` seconds, log it once, remember ``what`` in :attr:`unrecorded` and go
        on: the run's results stay valid without their record (the next run writes them), while
        waiting again for every later write would only stretch the run."""
        if self.unrecorded:  # locked out once: do not wait again in this run
            self.unrecorded.append(what)
            return
        try:
            with self._transaction(immediate=immediate):
                statements()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            self.unrecorded.append(what)
            logger.warning("state store %s: locked by another process for more than %g s; going on "
                           "without recording (%s and later records are written by the next run)",
                           self.path, self.wait, what)

    @contextlib.contextmanager
    def _transaction(self, *, immediate: bool = False) -> Iterator[None]:
        # IMMEDIATE takes the write lock at once: a read-then-write cannot race another process
        self._db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def reset(path: Path, *, now: datetime.datetime | None = None) -> Path | None:
    """Move the state file at ``path`` (and its WAL files) aside to ``<name>.bak-<UTC time>`` so
    the next :class:`StateStore` starts empty; the backup path, or None when there was no file.
    Nothing is deleted: a corrupted store can still be inspected or recovered by hand."""
    if not path.exists():
        return None
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.name}.bak-{stamp}")
    try:
        path.rename(backup)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.rename(backup.with_name(backup.name + suffix))
    except OSError as exc:
        raise ConfigError(f"state store {path}: cannot move it aside: {exc.strerror or exc}") from None
    return backup
