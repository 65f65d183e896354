"""SQLite files that several processes open at once: API workers starting together."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vitrina.adapters.events.sqlite_buffer import EventLog
from vitrina.adapters.search_cache.sqlite import SQLiteResultCache
from vitrina.adapters.sqlite_wal import open_wal
from vitrina.adapters.stores.sessions import SQLiteSessions
from vitrina.adapters.stores.sqlite import SQLiteRecsStore

pytestmark = pytest.mark.unit

OPENERS: dict[str, Callable[[Path], Any]] = {
    "open_wal": lambda path: open_wal(
        path, timeout_s=30, synchronous="NORMAL", schema="CREATE TABLE IF NOT EXISTS t (x);"
    ),
    "search cache": SQLiteResultCache,
    "recs store": SQLiteRecsStore,
    "sessions": SQLiteSessions,
    "event buffer": lambda path: EventLog(path.parent),
}


def _open_at_barrier(opener: str, path: Path, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        OPENERS[opener](path).close()
        results.put("ok")
    except Exception as error:  # reported to the parent, which asserts none happened
        results.put(f"{type(error).__name__}: {error}")


@pytest.mark.parametrize("opener", sorted(OPENERS))
def test_processes_opening_a_new_file_at_the_same_instant_all_open_it(opener: str, tmp_path: Path) -> None:
    """Processes switching a new file to WAL at once deadlock on their lock upgrades, and
    SQLite answers one of them "database is locked" without waiting on the busy timeout
    (about 1 round in 10 of this test without the retry): every process must still open it."""
    context = multiprocessing.get_context("fork")
    failures: list[str] = []
    for attempt in range(40):
        path = tmp_path / f"round-{attempt}" / "file.sqlite3"
        path.parent.mkdir()
        barrier, results = context.Barrier(3), context.Queue()
        workers = [
            context.Process(target=_open_at_barrier, args=(opener, path, barrier, results)) for _ in range(3)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        failures += [r for r in (results.get(timeout=5) for _ in workers) if r != "ok"]
    assert failures == []
