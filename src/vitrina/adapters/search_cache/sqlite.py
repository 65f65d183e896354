"""Embedded search cache: one SQLite file (default ``$VITRINA_HOME/serving/search_cache.sqlite3``).

Layout: ``entries(key, value, expires_at)`` with ``expires_at`` in epoch µs of the injected
clock. A read ignores expired rows, so expiry is exact; deleting them is lazy: every
``purge_every`` writes, :meth:`SQLiteResultCache.purge` drops expired rows and, if more
than ``max_entries`` remain, those closest to expiry (a bounded file whatever the traffic).

Its own file, not a table in the serving store's: a recommendation batch holds the store's
write lock for seconds, and a search must never wait on it. WAL mode lets API worker
processes share the file; within a process one connection is shared by the threadpool
under a lock (statements take microseconds). The busy timeout is short (``timeout_s``): a
write that cannot get the lock quickly is dropped (the cache degrades, see :mod:`.base`);
only opening the file waits longer, and retries, for other workers opening it at the same time.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from vitrina.adapters.search_cache.base import DEFAULT_TTL, GuardedCache
from vitrina.adapters.sqlite_wal import open_wal
from vitrina.adapters.stores.base import Clock, to_us, utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_expiry ON entries (expires_at);
"""


OPEN_TIMEOUT_S = 30.0


class SQLiteResultCache(GuardedCache):
    """The :class:`~vitrina.adapters.search_cache.base.ResultCache` over a SQLite file at ``path``.

    ``clock`` decides expiry (aware datetimes); ``monotonic`` times the breaker.
    """

    failures = (sqlite3.OperationalError,)  # locked, I/O, disk full; not programming errors

    def __init__(
        self,
        path: Path | str,
        *,
        ttl: dt.timedelta = DEFAULT_TTL,
        clock: Clock = utc_now,
        max_entries: int = 100_000,
        purge_every: int = 1_000,
        timeout_s: float = 0.2,
        retry_after_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        super().__init__(ttl=ttl, retry_after_s=retry_after_s, monotonic=monotonic)
        if max_entries < 1 or purge_every < 1:
            raise ValueError(f"max_entries ({max_entries}) and purge_every ({purge_every}) must be ≥ 1")
        self.path = Path(path)
        self.clock = clock
        self.max_entries = max_entries
        self.purge_every = purge_every
        self._writes = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Opening waits (and retries) up to OPEN_TIMEOUT_S: API workers starting together all
            # switch the file to WAL and create the table. Reads and writes keep the short timeout.
            self._conn = open_wal(self.path, timeout_s=OPEN_TIMEOUT_S, synchronous="NORMAL", schema=_SCHEMA)
            self._conn.execute(f"PRAGMA busy_timeout = {max(1, round(timeout_s * 1000))}")
        except (OSError, sqlite3.Error) as error:
            raise OSError(f"cannot open the search cache at {self.path}: {error}") from error

    def _now_us(self) -> int:
        return to_us(self.clock())

    def _get(self, key: str) -> bytes | None:
        with self._lock:
            rows = self._conn.execute(
                "SELECT value FROM entries WHERE key = ? AND expires_at > ?", (key, self._now_us())
            ).fetchall()
        return bytes(rows[0][0]) if rows else None

    def _set(self, key: str, value: bytes, ttl: dt.timedelta) -> None:
        expires = self._now_us() + ttl // dt.timedelta(microseconds=1)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO entries (key, value, expires_at) VALUES (?, ?, ?)",
                (key, value, expires),
            )
            self._writes += 1
            due = self._writes % self.purge_every == 0
        if due:
            self.purge()

    def purge(self) -> int:
        """Delete expired entries, then the soonest-expiring ones beyond ``max_entries``;
        returns how many rows were deleted. Runs by itself every ``purge_every`` writes."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                removed = self._conn.execute(
                    "DELETE FROM entries WHERE expires_at <= ?", (self._now_us(),)
                ).rowcount
                (count,) = self._conn.execute("SELECT count(*) FROM entries").fetchone()
                if count > self.max_entries:
                    removed += self._conn.execute(
                        "DELETE FROM entries WHERE key IN "
                        "(SELECT key FROM entries ORDER BY expires_at LIMIT ?)",
                        (count - self.max_entries,),
                    ).rowcount
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return int(removed)

    def _clear(self) -> int:
        with self._lock:
            return int(self._conn.execute("DELETE FROM entries").rowcount)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteResultCache({str(self.path)!r})"
