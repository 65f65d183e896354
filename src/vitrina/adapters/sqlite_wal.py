"""Opening a SQLite file that several processes share, in WAL mode.

API workers (and pipeline processes) starting together all switch the same new file to WAL
and create its tables. Two connections upgrading their locks at the same instant is a
deadlock that SQLite resolves by answering "database is locked" at once, without waiting on
the busy timeout (about one start in ten when two processes open a new file together). So
the whole opening sequence is retried until the timeout has passed; a process fails to
open only if the file stays locked that long.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

RETRY_PAUSE_S = 0.05


def open_wal(
    path: Path,
    *,
    timeout_s: float,
    synchronous: str,
    schema: str = "",
    check_same_thread: bool = False,
) -> sqlite3.Connection:
    """A connection to ``path`` in autocommit mode, WAL journal, ``synchronous`` level set and
    ``schema`` (idempotent ``CREATE … IF NOT EXISTS`` statements) applied.

    ``timeout_s`` is both the connection's busy timeout and how long opening keeps retrying.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        conn = sqlite3.connect(
            path, timeout=timeout_s, isolation_level=None, check_same_thread=check_same_thread
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            if schema:
                conn.executescript(schema)
            return conn
        except sqlite3.OperationalError:
            conn.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(RETRY_PAUSE_S)
