"""Embedded serving store: one SQLite file (default ``$VITRINA_HOME/serving/store.sqlite3``).

Layout: ``recs(version, user_id, payload)`` holds every version's records side by side,
found through the ``(version, user_id)`` key (a rowid table, not ``WITHOUT ROWID``: records
are ~1.5 KB, too large for a clustered key; measured 3× faster to write and delete);
``lists(version, kind, key, payload)`` holds the keyed lists (each product's similar and
bought-together items, each user's buy-again list) the same way; ``versions`` holds the
bookkeeping and the popularity list; ``pointer`` holds the row naming the current version
(and, while a challenger runs, the row naming its version). Publishing updates ``versions``
and ``pointer`` in one transaction, and a read is one statement joining ``pointer`` to ``recs``, so it runs on
one snapshot: a reader sees the old version or the new one, never a mix. WAL mode lets
readers (the API, other processes) read while the batch writes.

One connection per store, shared by threads under a lock (reads are sub-millisecond).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vitrina.adapters.sqlite_wal import open_wal
from vitrina.adapters.stores.base import (
    CURRENT,
    DEFAULT_KEEP,
    DEFAULT_TTL,
    Clock,
    VersionInfo,
    from_us,
    to_us,
    utc_now,
)
from vitrina.adapters.stores.versioned import VersionedStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    version TEXT PRIMARY KEY,
    model_version TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    users INTEGER,
    published_at INTEGER,
    popular TEXT
);
CREATE TABLE IF NOT EXISTS recs (
    version TEXT NOT NULL,
    user_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (version, user_id)
);
CREATE TABLE IF NOT EXISTS lists (
    version TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (version, kind, key)
);
CREATE TABLE IF NOT EXISTS pointer (
    name TEXT PRIMARY KEY,
    version TEXT NOT NULL
);
"""
_INFO_COLUMNS = "version, model_version, created_at, expires_at, users, published_at"


def _info(row: tuple[Any, ...]) -> VersionInfo:
    version, model_version, created, expires, users, published = row
    return VersionInfo(
        version=version,
        model_version=model_version,
        created_at=from_us(created),
        expires_at=from_us(expires),
        users=users,
        published_at=None if published is None else from_us(published),
    )


class SQLiteRecsStore(VersionedStore):
    """The :class:`~vitrina.adapters.stores.base.RecsStore` over a SQLite file at ``path``."""

    def __init__(
        self,
        path: Path | str,
        *,
        ttl: dt.timedelta = DEFAULT_TTL,
        keep: int = DEFAULT_KEEP,
        clock: Clock = utc_now,
    ):
        super().__init__(ttl=ttl, keep=keep, clock=clock)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every transaction below is explicit (BEGIN … COMMIT).
        # NORMAL: durable at checkpoints; a batch can be redone.
        self._conn = open_wal(self.path, timeout_s=30, synchronous="NORMAL", schema=_SCHEMA)
        self._lock = threading.RLock()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        # fetchall steps the statement to its end, so its read snapshot ends here, not
        # whenever the cursor happens to be collected (a lingering snapshot = an old version).
        with self._lock:
            rows: list[tuple[Any, ...]] = self._conn.execute(sql, params).fetchall()
        return rows[0] if rows else None

    def _info(self, version: str) -> VersionInfo | None:
        row = self._one(f"SELECT {_INFO_COLUMNS} FROM versions WHERE version = ?", (version,))
        return None if row is None else _info(row)

    def _infos(self) -> list[VersionInfo]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_INFO_COLUMNS} FROM versions").fetchall()
        return [_info(row) for row in rows]

    def _save_info(self, info: VersionInfo) -> None:
        with self._transaction() as conn:
            _upsert(conn, info)

    def _write_rows(self, info: VersionInfo, rows: Sequence[tuple[str, str]]) -> None:
        with self._transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO recs (version, user_id, payload) VALUES (?, ?, ?)",
                ((info.version, user_id, payload) for user_id, payload in rows),
            )

    def _write_lists(self, info: VersionInfo, kind: str, rows: Sequence[tuple[str, str]]) -> None:
        with self._transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO lists (version, kind, key, payload) VALUES (?, ?, ?, ?)",
                ((info.version, kind, key, payload) for key, payload in rows),
            )

    def _write_popular(self, info: VersionInfo, payload: str) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE versions SET popular = ? WHERE version = ?", (payload, info.version))

    def _flip(self, info: VersionInfo, channel: str = CURRENT) -> None:
        with self._transaction() as conn:
            _upsert(conn, info)
            conn.execute(
                "INSERT INTO pointer (name, version) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                (channel, info.version),
            )

    def _unpoint(self, channel: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM pointer WHERE name = ?", (channel,))

    def _drop(self, version: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM recs WHERE version = ?", (version,))
            conn.execute("DELETE FROM lists WHERE version = ?", (version,))
            conn.execute("DELETE FROM versions WHERE version = ?", (version,))

    def _pointed(self, channel: str = CURRENT) -> str | None:
        row = self._one("SELECT version FROM pointer WHERE name = ?", (channel,))
        return None if row is None else str(row[0])

    def _read(self, user_id: str, channel: str = CURRENT) -> str | None:
        row = self._one(
            "SELECT r.payload FROM pointer AS p JOIN recs AS r ON r.version = p.version "
            "WHERE p.name = ? AND r.user_id = ?",
            (channel, user_id),
        )
        return None if row is None else str(row[0])

    def _read_list(self, kind: str, key: str, channel: str = CURRENT) -> str | None:
        row = self._one(
            "SELECT l.payload FROM pointer AS p JOIN lists AS l ON l.version = p.version "
            "WHERE p.name = ? AND l.kind = ? AND l.key = ?",
            (channel, kind, key),
        )
        return None if row is None else str(row[0])

    def _read_popular(self, channel: str = CURRENT) -> str | None:
        row = self._one(
            "SELECT v.popular FROM pointer AS p JOIN versions AS v ON v.version = p.version WHERE p.name = ?",
            (channel,),
        )
        return None if row is None or row[0] is None else str(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteRecsStore({str(self.path)!r})"


def _upsert(conn: sqlite3.Connection, info: VersionInfo) -> None:
    """Insert or update a version's bookkeeping, leaving its popular list alone."""
    conn.execute(
        f"INSERT INTO versions ({_INFO_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (version) DO UPDATE SET model_version = excluded.model_version, "
        "created_at = excluded.created_at, expires_at = excluded.expires_at, "
        "users = excluded.users, published_at = excluded.published_at",
        (
            info.version,
            info.model_version,
            to_us(info.created_at),
            to_us(info.expires_at),
            info.users,
            None if info.published_at is None else to_us(info.published_at),
        ),
    )
