"""Search cache pieces that need no server: the key, the breaker, the SQLite file's purge."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from vitrina.adapters.search_cache import search_cache_key
from vitrina.adapters.search_cache.base import Breaker, CacheStats
from vitrina.adapters.search_cache.sqlite import SQLiteResultCache

pytestmark = pytest.mark.unit

BASE = ("celular samsung", None, 20, "products-v3", "ltr@7")


def test_key_is_stable_across_processes() -> None:
    """Keys outlive processes (Redis keeps them across deploys): no per-process salt (hash())."""
    import vitrina.adapters.search_cache.keys as keys_module

    code = (
        f"import runpy; key = runpy.run_path({keys_module.__file__!r})['search_cache_key'];"
        "print(key('celular samsung', None, 20, 'products-v3', 'ltr@7'))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    )
    key = search_cache_key(*BASE)
    assert other.stdout.strip() == key
    assert len(key) == 32
    assert int(key, 16) >= 0


@pytest.mark.parametrize(
    "changed",
    [
        ("celular samsung a", None, 20, "products-v3", "ltr@7"),
        ("celular samsung", "u1", 20, "products-v3", "ltr@7"),
        ("celular samsung", "None", 20, "products-v3", "ltr@7"),
        ("celular samsung", None, 10, "products-v3", "ltr@7"),
        ("celular samsung", None, 20, "products-v4", "ltr@7"),
        ("celular samsung", None, 20, "products-v3", "ltr@8"),
        ("celular", None, 20, "samsung products-v3", "ltr@7"),
    ],
)
def test_every_field_changes_the_key(changed: tuple[str, str | None, int, str, str]) -> None:
    assert search_cache_key(*changed) != search_cache_key(*BASE)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("q", None, 0, "v", "m"), ValueError),
        (("q", None, True, "v", "m"), ValueError),
        (("q", None, 20, "", "m"), ValueError),
        (("q", None, 20, "v", None), ValueError),
        ((None, None, 20, "v", "m"), TypeError),
        (("q", 7, 20, "v", "m"), TypeError),
    ],
)
def test_bad_key_fields_are_refused(args: tuple[object, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        search_cache_key(*args)  # type: ignore[arg-type]


def test_breaker_refuses_then_lets_one_trial_through() -> None:
    now = [100.0]
    breaker = Breaker(5.0, clock=lambda: now[0])
    assert breaker.allow()
    assert breaker.failed() is True, "the first failure opens it"
    assert breaker.failed() is False, "already open: nothing new to log"
    assert not breaker.allow()
    now[0] = 105.0
    assert breaker.allow(), "the trial"
    assert not breaker.allow(), "only one trial per period"
    breaker.succeeded()
    assert breaker.allow()
    assert not breaker.is_open


def test_hit_rate() -> None:
    assert CacheStats(3, 1, 0).hit_rate == pytest.approx(0.75)
    assert CacheStats(0, 0, 5).hit_rate == 0.0


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def rows(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])


def test_expired_rows_are_purged_lazily(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "c.sqlite3"
    with SQLiteResultCache(path, clock=clock, ttl=dt.timedelta(minutes=30), purge_every=5) as cache:
        for n in range(4):
            cache.set(f"old{n}", b"x")
        clock.now += dt.timedelta(minutes=31)
        assert cache.get("old0") is None, "expired reads as missing before any purge"
        assert rows(path) == 4
        cache.set("new", b"y")  # the 5th write purges
        assert rows(path) == 1
        assert cache.get("new") == b"y"


def test_size_cap_drops_the_soonest_expiring(tmp_path: Path) -> None:
    clock = Clock()
    with SQLiteResultCache(tmp_path / "c.sqlite3", clock=clock, max_entries=3, purge_every=10_000) as cache:
        for n in range(6):
            cache.set(f"k{n}", b"x", ttl=dt.timedelta(minutes=10 + n))
        assert cache.purge() == 3
        assert [cache.get(f"k{n}") is not None for n in range(6)] == [False] * 3 + [True] * 3


def test_unopenable_file_fails_clearly(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="cannot open the search cache"):
        SQLiteResultCache(blocker / "cache.sqlite3")


def test_opening_waits_for_another_process_holding_the_file_then_reads_stay_short(tmp_path: Path) -> None:
    """API workers start together: one holds the file's lock (switching it to WAL, creating
    the table) while another opens it. Opening waits; reads and writes keep the short
    busy timeout (a write that finds the file locked is dropped, not waited for)."""
    import sqlite3
    import threading

    path = tmp_path / "cache.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        cache = SQLiteResultCache(path, timeout_s=0.05, retry_after_s=0)  # failed after 0.05 s before
    finally:
        release.join()
    cache.set("k", b"v")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        cache.set("late", b"w")  # locked: dropped after the short timeout, counted
        assert cache.errors == 1
        assert cache.get("k") == b"v"  # WAL: reads go on beside a writer
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert cache.get("late") is None
    cache.close()
