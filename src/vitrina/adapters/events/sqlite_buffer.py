"""The embedded event buffer: one SQLite file in WAL mode (``$VITRINA_HOME/events/``).

Layout of ``folder/buffer.sqlite3``::

    events(offset INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE, body TEXT)
    flushed(event_id TEXT PRIMARY KEY, at REAL)   ids committed within the de-dup window

Why SQLite: every API worker process, and every thread of its threadpool, appends to the
same buffer. SQLite serialises writers across threads and processes with its own locks
(released by the kernel if a process dies), and a transaction is all or nothing, so a
``kill -9`` at any point leaves either the whole batch or none of it. One connection per
process is shared by its threads under a lock (statements take microseconds; SQLite would
serialise the writers anyway).

- **De-duplication is atomic.** An append is one ``BEGIN IMMEDIATE`` transaction that
  inserts each event unless its id is buffered (``UNIQUE``) or was flushed within
  ``dedup_ttl`` (``flushed``); identical batches sent at once by several processes are
  accepted exactly once in total.
- **fsync policy.** ``synchronous=FULL``: the write-ahead log is fsync'd at every commit,
  so an append returns (and the API answers 202) only once its events would survive a
  power loss. A commit of the flusher is fsync'd the same way.
- **Offsets are in commit order.** ``offset`` is assigned inside the write transaction,
  and SQLite holds one write lock from the first insert to the commit, so a transaction
  that gets a larger offset commits after every transaction with a smaller one. Hence a
  reader that has seen offset ``N`` has seen every event ``≤ N`` still buffered, and
  :meth:`EventLog.commit` may delete ``offset ≤ N``: it deletes only events the flusher
  read. (``AUTOINCREMENT`` also never reuses the offset of a deleted event.)

A home holding the former layout (``segment-*.jsonl``, ``committed.json``,
``flushed-ids.jsonl``) is migrated on open: its unflushed events and remembered ids are
imported in one transaction, then the old files move to ``migrated-segment-log/``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from vitrina.adapters.closes_on_exit import ClosesOnExit
from vitrina.adapters.events.base import (
    AppendResult,
    BufferedEvent,
    BufferRecord,
    EventBufferUnavailableError,
    record_from_json,
)
from vitrina.adapters.sqlite_wal import open_wal

DATABASE = "buffer.sqlite3"
DEFAULT_DEDUP_TTL = dt.timedelta(days=7)
BUSY_TIMEOUT_S = 30.0
LEGACY_FOLDER = "migrated-segment-log"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    offset INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS flushed (
    event_id TEXT PRIMARY KEY,
    at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS flushed_at ON flushed (at);
"""
# Insert unless the id was flushed within the window; UNIQUE(event_id) ignores buffered ids.
_INSERT = """
INSERT OR IGNORE INTO events (event_id, body)
SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM flushed WHERE event_id = ?1 AND at >= ?3)
"""


def buffer_exists(folder: Path) -> bool:
    """Whether ``folder`` holds a buffer (or a former segment log) to read: looked at without
    opening it, since opening creates the database."""
    folder = Path(folder)
    return (
        (folder / DATABASE).exists()
        or (folder / "committed.json").exists()
        or any(folder.glob("segment-*.jsonl"))
    )


def _offset(seq: int) -> str:
    return f"{seq:012d}"


class EventLog(ClosesOnExit):
    """:class:`~vitrina.adapters.events.base.EventBuffer` over a SQLite file in ``folder``."""

    def __init__(
        self,
        folder: Path,
        *,
        dedup_ttl: dt.timedelta = DEFAULT_DEDUP_TTL,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
    ) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DATABASE
        self.dedup_ttl = dedup_ttl
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # The busy timeout applies to every lock wait, opening included: API workers
            # starting together all switch the file to WAL and create the tables.
            self._conn = open_wal(self.path, timeout_s=busy_timeout_s, synchronous="FULL")
            with self._transaction() as conn:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            self._migrate_segment_log()
        except (OSError, sqlite3.Error) as error:
            raise EventBufferUnavailableError(
                f"cannot open the event buffer at {self.path}: {error}"
            ) from error

    # --- transactions ------------------------------------------------------------------
    @contextlib.contextmanager
    def _failures(self, action: str) -> Iterator[None]:
        """SQLite's errors (locked past the busy timeout, I/O, disk full) as 'unavailable':
        the API answers 503 and the client retries the batch, which is idempotent."""
        try:
            yield
        except sqlite3.Error as error:
            raise EventBufferUnavailableError(
                f"cannot {action} the event buffer at {self.path}: {error}"
            ) from error

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn, self._lock)

    def _horizon(self) -> float:
        return self._clock() - self.dedup_ttl.total_seconds()

    def _insert(self, conn: sqlite3.Connection, events: Iterable[BufferRecord]) -> set[str]:
        """Insert the new events in order; returns the ids this transaction added."""
        (last,) = conn.execute("SELECT coalesce(max(offset), 0) FROM events").fetchone()
        horizon = self._horizon()
        conn.executemany(
            _INSERT,
            ((e.event_id, json.dumps(e.to_json(), ensure_ascii=False), horizon) for e in events),
        )
        rows = conn.execute("SELECT event_id FROM events WHERE offset > ?", (last,))
        return {event_id for (event_id,) in rows}

    # --- the contract ------------------------------------------------------------------
    def append(self, events: Sequence[BufferRecord]) -> AppendResult:
        if not events:
            return AppendResult(0, ())
        with self._failures("write"), self._transaction() as conn:
            added = self._insert(conn, events)
        duplicates: list[str] = []
        for event in events:  # the first copy of an added id is the accepted one
            if event.event_id in added:
                added.discard(event.event_id)
            else:
                duplicates.append(event.event_id)
        return AppendResult(accepted=len(events) - len(duplicates), duplicates=tuple(duplicates))

    def read(self, limit: int) -> list[BufferedEvent]:
        if limit < 1:
            raise ValueError(f"limit must be ≥ 1, got {limit}")
        with self._failures("read"), self._lock:
            rows = self._conn.execute(
                "SELECT offset, body FROM events ORDER BY offset LIMIT ?", (limit,)
            ).fetchall()
        return [BufferedEvent(_offset(seq), record_from_json(json.loads(body))) for seq, body in rows]

    def commit(self, offset: str) -> int:
        """Delete the events ``≤ offset`` (all of them read by the caller: offsets are in
        commit order) and remember their ids for the de-duplication window."""
        upto = int(offset)
        with self._failures("commit"), self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO flushed (event_id, at) "
                "SELECT event_id, ? FROM events WHERE offset <= ?",
                (self._clock(), upto),
            )
            removed = conn.execute("DELETE FROM events WHERE offset <= ?", (upto,)).rowcount
            conn.execute("DELETE FROM flushed WHERE at < ?", (self._horizon(),))
        return int(removed)

    def pending(self) -> int:
        with self._failures("read"), self._lock:
            (count,) = self._conn.execute("SELECT count(*) FROM events").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- the former segment log --------------------------------------------------------
    def _migrate_segment_log(self) -> None:
        """Import a former segment log's unflushed events and remembered ids, then move its
        files aside. The import and the check that the files are still there happen in one
        write transaction, so concurrent openers import once; a crash before the move
        re-imports on the next open, and ids already present (buffered or flushed) are
        skipped, so nothing is imported twice."""
        if not any(self.folder.glob("segment-*.jsonl")) and not (self.folder / "committed.json").exists():
            return
        with self._transaction() as conn:
            segments = sorted(self.folder.glob("segment-*.jsonl"))
            committed_file = self.folder / "committed.json"
            if not segments and not committed_file.exists():
                return  # another process migrated it meanwhile
            committed = int(json.loads(committed_file.read_text())["seq"]) if committed_file.exists() else 0
            conn.executemany(
                "INSERT OR IGNORE INTO flushed (event_id, at) VALUES (?, ?)",
                ((row["id"], float(row["at"])) for row in _json_lines(self.folder / "flushed-ids.jsonl")),
            )
            events = (
                record_from_json(row["event"])
                for path in segments
                for row in _json_lines(path)
                if int(row["seq"]) > committed
            )
            self._insert(conn, events)
        legacy = self.folder / LEGACY_FOLDER
        legacy.mkdir(exist_ok=True)
        for name in [*(p.name for p in segments), "committed.json", "flushed-ids.jsonl", ".lock"]:
            if (self.folder / name).exists():
                (self.folder / name).replace(legacy / name)


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Whole JSON lines of a former segment file; a torn line was never acknowledged."""
    if not path.exists():
        return
    with path.open("r", encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return
            try:
                yield json.loads(line)
            except ValueError:
                continue


class _Transaction:
    """``with``: hold the process's lock and one ``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled
    back on any error). IMMEDIATE takes SQLite's write lock up front, so the transaction
    waits (up to the busy timeout) instead of failing when it would have to upgrade."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn = conn
        self._lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return self._conn

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            if kind is None:
                try:
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            elif self._conn.in_transaction:  # some errors (disk full) already rolled back
                self._conn.execute("ROLLBACK")
        finally:
            self._lock.release()
