"""The local state store: every tag imagebot has seen, when it first saw it, and its digests.

SQLite (the CLI's default is ``state.db`` in imagebot's home, :func:`imagebot.config.home`).
Written by :mod:`imagebot.scan` after each repository listing; read back into
``TagList.first_seen`` / ``first_digests`` so the policy stage can apply
cooldowns and detect re-pushed tags. One writer per process; WAL mode lets readers coexist.
"""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from imagebot.errors import ConfigError
from imagebot.model.ids import Digest, Tag
from imagebot.model.scans import TagRecord

__all__ = ["StateStore", "TagRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    repository   TEXT NOT NULL,
    tag          TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    first_digest TEXT,
    last_digest  TEXT,
    PRIMARY KEY (repository, tag)
) WITHOUT ROWID;
"""


class StateStore:
    """``with StateStore(path) as state: state.record(repo, tags, digests, now=...)``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: no fsync per transaction; a crash loses at most the last scans'
            # first-seen records, which the next scan writes again
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
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
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO tags (repository, tag, first_seen) VALUES (?, ?, ?)", new_tags
            )
            self._db.executemany(
                "UPDATE tags SET first_digest = COALESCE(first_digest, ?), last_digest = ? "
                "WHERE repository = ? AND tag = ?",
                new_digests,
            )
        return records

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
