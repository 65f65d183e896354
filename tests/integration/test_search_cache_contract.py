"""One contract for every search result cache: the same tests on SQLite and on the real Redis.

Each test gets ``make`` (opens a cache on shared backing data: a SQLite file in tmp_path,
or a unique Redis key prefix cleared afterwards), ``elapse`` (moves time on: the injected
clock for SQLite, a real sleep for Redis, which expires keys by itself) and ``broken``
(a cache whose backend fails: Redis on a closed port, or a SQLite file another connection
holds the write lock of).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vitrina.adapters.search_cache import (
    CacheUnavailableError,
    ResultCache,
    search_cache_key,
)
from vitrina.adapters.search_cache.redis import DEFAULT_PREFIX, RedisResultCache
from vitrina.adapters.search_cache.sqlite import SQLiteResultCache
from vitrina.bootstrap import open_result_cache
from vitrina.config import get_settings

pytestmark = pytest.mark.integration

MakeCache = Callable[..., ResultCache]
SHORT = dt.timedelta(milliseconds=400)


class FakeClock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[MakeCache]:
    opened: list[ResultCache] = []
    prefix = f"vitrina-test-{uuid.uuid4().hex[:12]}:search:"
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""

    def factory(**options: Any) -> ResultCache:
        cache: ResultCache
        if backend == "sqlite":
            cache = SQLiteResultCache(tmp_path / "cache.sqlite3", clock=clock, **options)
        else:
            cache = RedisResultCache(url, prefix=options.pop("prefix", prefix), **options)
        opened.append(cache)
        return cache

    yield factory
    if url:
        opened[0].clear()
    for cache in opened:
        cache.close()


@pytest.fixture
def elapse(backend: str, clock: FakeClock) -> Callable[[dt.timedelta], None]:
    def move(delta: dt.timedelta) -> None:
        if backend == "sqlite":
            clock.now += delta
        else:
            time.sleep(delta.total_seconds())

    return move


@pytest.fixture
def broken(backend: str, tmp_path: Path) -> Iterator[Callable[..., ResultCache]]:
    """Caches whose backend fails until ``heal`` (SQLite) — Redis on port 1 never heals."""
    holders: list[sqlite3.Connection] = []
    opened: list[ResultCache] = []

    def factory(**options: Any) -> ResultCache:
        cache: ResultCache
        if backend == "redis":
            cache = RedisResultCache("redis://user:secret@127.0.0.1:1/0", **options)
        else:
            path = tmp_path / "locked.sqlite3"
            cache = SQLiteResultCache(path, timeout_s=0.05, **options)
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")  # another process mid-write, for longer than the timeout
            holders.append(holder)
        opened.append(cache)
        return cache

    yield factory
    for holder in holders:
        holder.close()
    for cache in opened:
        cache.close()


def key(text: str) -> str:
    return search_cache_key(text, None, 20, "products-v1", "ltr@1")


def test_set_then_get_counts_hits_and_misses(make: MakeCache) -> None:
    cache, reader = make(), make()
    assert cache.get(key("celular")) is None
    page = '{"rows":[3,1,2],"q":"teléfono móvil"}'.encode() + bytes(range(256))
    cache.set(key("celular"), page)
    assert reader.get(key("celular")) == page, "another instance (another API worker) reads it"
    cache.set(key("celular"), b"v2")
    assert cache.get(key("celular")) == b"v2", "set replaces"
    assert cache.get(key("celular")) == b"v2"
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.errors) == (2, 1, 0)
    assert (cache.hits, cache.misses, cache.errors) == (2, 1, 0)
    assert stats.hit_rate == pytest.approx(2 / 3)


def test_entries_expire_after_their_ttl(make: MakeCache, elapse: Callable[[dt.timedelta], None]) -> None:
    cache = make(ttl=SHORT)
    cache.set(key("default ttl"), b"a")
    cache.set(key("longer ttl"), b"b", ttl=dt.timedelta(hours=1))
    elapse(SHORT / 4)
    assert cache.get(key("default ttl")) == b"a"
    elapse(SHORT)
    assert cache.get(key("default ttl")) is None
    assert cache.get(key("longer ttl")) == b"b"
    cache.set(key("default ttl"), b"again")
    assert cache.get(key("default ttl")) == b"again", "an expired key can be written again"


def test_keys_are_isolated(make: MakeCache) -> None:
    cache = make()
    texts = ["zapatillas", "zapatilla", "zapatillas ", "tenis", "notebook", "portátil"]
    for n, text in enumerate(texts):
        cache.set(key(text), f"{n}".encode())
    cache.set("abc", b"short")
    cache.set("abcd", b"longer")
    assert [cache.get(key(text)) for text in texts] == [f"{n}".encode() for n in range(len(texts))]
    assert (cache.get("abc"), cache.get("abcd"), cache.get("ab")) == (b"short", b"longer", None)
    assert cache.clear() == len(texts) + 2
    assert all(cache.get(key(text)) is None for text in texts)


def test_bad_calls_are_refused(make: MakeCache) -> None:
    cache = make()
    with pytest.raises(ValueError, match="non-empty strings"):
        cache.get("")
    with pytest.raises(TypeError, match="bytes"):
        cache.set("k", "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        cache.set("k", b"v", ttl=dt.timedelta(0))
    with pytest.raises(ValueError, match="positive"):
        make(ttl=dt.timedelta(seconds=-1))


def test_concurrent_threads(make: MakeCache) -> None:
    cache = make()
    workers, rounds = 8, 150
    errors: list[BaseException] = []
    shared_values = {f"w{w}".encode() for w in range(workers)}
    start = threading.Barrier(workers)

    def work(worker: int) -> None:
        try:
            start.wait()
            for n in range(rounds):
                own = key(f"w{worker}-{n}")
                cache.set(own, f"{worker}-{n}".encode())
                assert cache.get(own) == f"{worker}-{n}".encode()
                cache.set(key("shared"), f"w{worker}".encode())
                assert cache.get(key("shared")) in shared_values
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[:3]
    stats = cache.stats()
    assert stats.hits == 2 * workers * rounds, "counters are exact under concurrency"
    assert (stats.misses, stats.errors) == (0, 0)


def test_unavailable_backend_degrades_to_a_counted_no_op(broken: Callable[..., ResultCache]) -> None:
    now = [0.0]
    cache = broken(retry_after_s=10.0, monotonic=lambda: now[0])
    started = time.perf_counter()
    cache.set(key("celular"), b"page")  # fails: no exception
    reached: list[str] = []
    original = cache._get  # type: ignore[attr-defined]
    cache._get = lambda k: reached.append(k) or original(k)  # type: ignore[attr-defined]
    for _ in range(50):
        assert cache.get(key("celular")) is None
    assert time.perf_counter() - started < 1.0, "a dead backend must not slow searches down"
    assert reached == [], "the breaker keeps calls away from a backend that just failed"
    assert cache.stats() == (0, 50, 51)
    assert cache.degraded
    now[0] = 10.0
    assert cache.get(key("celular")) is None
    assert len(reached) == 1, "after retry_after_s one call tries the backend again"
    with pytest.raises(CacheUnavailableError, match="unavailable"):
        cache.clear()


def test_unavailable_redis_hides_its_password() -> None:
    with (
        RedisResultCache("redis://user:secret@127.0.0.1:1/0") as cache,
        pytest.raises(CacheUnavailableError) as caught,
    ):
        cache.clear()
    assert "secret" not in str(caught.value)
    assert "redis://***@127.0.0.1:1/0" in str(caught.value)


def test_sqlite_cache_recovers_when_the_lock_is_released(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    now = [0.0]
    cache = SQLiteResultCache(path, timeout_s=0.05, retry_after_s=1.0, monotonic=lambda: now[0])
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    cache.set("k", b"lost")
    assert cache.errors == 1
    holder.execute("ROLLBACK")
    holder.close()
    cache.set("k", b"skipped: breaker still open")
    assert cache.errors == 2
    now[0] = 1.0
    cache.set("k", b"kept")
    assert (cache.get("k"), cache.errors, cache.degraded) == (b"kept", 2, False)
    cache.close()


def test_factory_follows_the_store_url(tmp_path: Path, redis_url: str) -> None:
    home = tmp_path / "home"
    with open_result_cache(get_settings(home=home, search_cache_ttl_minutes=5)) as cache:
        assert isinstance(cache, SQLiteResultCache)
        assert cache.path == home / "serving" / "search_cache.sqlite3"
        assert cache.ttl == dt.timedelta(minutes=5)
    with open_result_cache(get_settings(home=home)) as cache:
        assert cache.ttl == dt.timedelta(minutes=30)
    explicit = get_settings(home=home, store_url=f"sqlite:///{tmp_path}/elsewhere/store.db")
    with open_result_cache(explicit) as cache:
        assert cache.path == tmp_path / "elsewhere" / "search_cache.sqlite3"  # type: ignore[attr-defined]
    with open_result_cache(get_settings(home=home, store_url=redis_url)) as cache:
        assert isinstance(cache, RedisResultCache)
        assert cache.prefix == DEFAULT_PREFIX == "vitrina:search:"
    with pytest.raises(ValueError, match="VITRINA_STORE_URL"):
        open_result_cache(get_settings(home=home, store_url="memcached://x"))


def test_redis_keys_are_namespaced_and_expire(redis_url: str) -> None:
    import redis

    prefix, other_prefix = (f"vitrina-test-{uuid.uuid4().hex[:12]}:search:" for _ in range(2))
    with (
        RedisResultCache(redis_url, prefix=prefix) as cache,
        RedisResultCache(redis_url, prefix=other_prefix) as other,
    ):
        try:
            cache.set("abc123", b"page")
            other.set("abc123", b"other page")
            raw = redis.Redis.from_url(redis_url)
            assert raw.get(f"{prefix}abc123") == b"page"
            ttl_ms = raw.pttl(f"{prefix}abc123")
            assert 29.9 * 60e3 < ttl_ms <= 30 * 60e3  # type: ignore[operator]
            assert cache.clear() == 1
            assert other.get("abc123") == b"other page", "clear stays under its own prefix"
        finally:
            cache.clear()
            other.clear()
