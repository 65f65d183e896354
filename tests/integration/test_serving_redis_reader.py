"""The API's Redis read path (``redis.asyncio`` on the event loop): the same answers as the
synchronous store on a real Redis, and a hung server costs one short timeout — the event
loop keeps running meanwhile — then the breaker keeps requests off it."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vitrina.adapters.stores import Recommendation, StoreUnavailableError
from vitrina.adapters.stores.base import CHALLENGER
from vitrina.adapters.stores.redis import RedisRecsStore
from vitrina.adapters.stores.redis_reader import AsyncRedisReader
from vitrina.config import get_settings
from vitrina.serving.store_handle import StoreHandle

pytestmark = pytest.mark.integration


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"vitrina-test-{uuid.uuid4().hex[:12]}:recs"
    yield name
    with RedisRecsStore(redis_url, prefix=name) as cleaner:
        cleaner.remove_all()


def test_lookup_answers_what_the_synchronous_store_reads(redis_url: str, prefix: str) -> None:
    items = [Recommendation("p1", 0.5, "porque viste X"), Recommendation("p2", 0.25, "popular")]

    async def lookups(names: list[str]) -> list[tuple[str | None, object]]:
        reader = AsyncRedisReader(redis_url, timeout_s=1.0, prefix=prefix)
        try:
            return [await reader.lookup(name) for name in names]
        finally:
            await reader.aclose()

    assert asyncio.run(lookups(["u1"])) == [(None, None)]  # nothing published yet
    with RedisRecsStore(redis_url, prefix=prefix) as store:
        with store.begin_version("b1", model_version="recs-1") as writer:
            writer.put("u1", items)
        store.publish("b1")
        expected = store.get("u1")
    assert asyncio.run(lookups(["u1", "nobody"])) == [("b1", expected), ("b1", None)]


def test_lookups_started_together_share_one_round_trip(redis_url: str, prefix: str) -> None:
    with RedisRecsStore(redis_url, prefix=prefix) as store:
        with store.begin_version("b1", model_version="recs-1") as writer:
            for n in range(8):
                writer.put(f"u{n}", [Recommendation(f"p{n}", 1.0, "als")])
        store.publish("b1")
        expected = {name: store.get(name) for name in ("u0", "u3", "u7", "nobody")}
    names = ["u0", "u3", "nobody", "u7", "u3"]  # one unknown, one asked twice

    async def together() -> tuple[list[tuple[str | None, object]], int, int]:
        reader = AsyncRedisReader(redis_url, timeout_s=1.0, prefix=prefix)
        try:
            shared = await asyncio.gather(*(reader.lookup(name) for name in names))
            trips = reader.round_trips
            for name in names[:3]:
                await reader.lookup(name)
            return shared, trips, reader.round_trips - trips
        finally:
            await reader.aclose()

    shared, trips, one_by_one = asyncio.run(together())
    assert shared == [("b1", expected[name]) for name in names]
    assert trips == 1
    assert one_by_one == 3  # awaited one after the other: no batching, no added wait


def test_champion_and_challenger_lookups_read_their_own_versions(redis_url: str, prefix: str) -> None:
    with RedisRecsStore(redis_url, prefix=prefix) as store:
        for version in ("b1", "c1"):
            with store.begin_version(version, model_version=f"recs-{version}") as writer:
                writer.put("u1", [Recommendation(f"{version}-p", 1.0, "als")])
        store.publish("b1")
        store.publish("c1", CHALLENGER)
        expected = store.get("u1"), store.get("u1", CHALLENGER)

    async def both() -> list[tuple[str | None, object]]:
        reader = AsyncRedisReader(redis_url, timeout_s=1.0, prefix=prefix)
        try:  # started in one turn of the loop: a round trip per pointer, never a mix
            found = await asyncio.gather(reader.lookup("u1"), reader.lookup("u1", channel=CHALLENGER))
            assert reader.round_trips == 2
            return list(found)
        finally:
            await reader.aclose()

    assert asyncio.run(both()) == [("b1", expected[0]), ("c1", expected[1])]


@pytest.fixture
def hung_port() -> Iterator[int]:
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_hung_redis_costs_the_timeout_on_a_running_loop_then_the_breaker_skips_it(
    hung_port: int, tmp_path: Path
) -> None:
    settings = get_settings(
        home=tmp_path, store_url=f"redis://127.0.0.1:{hung_port}/0", store_read_timeout_ms=50
    )
    handle = StoreHandle(settings, retry_after_s=60)

    async def scenario() -> tuple[int, str, str]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        running = asyncio.create_task(ticker())
        try:
            with pytest.raises(StoreUnavailableError) as first:
                await asyncio.wait_for(handle.lookup("u1"), timeout=10)
            ticked = ticks
            with pytest.raises(StoreUnavailableError) as second:  # breaker open: not sent at all
                await asyncio.wait_for(handle.lookup("u1"), timeout=10)
            return ticked, str(first.value), str(second.value)
        finally:
            running.cancel()
            await handle.aclose()

    ticked, first, second = asyncio.run(scenario())
    assert ticked > 0, "the event loop stalled while Redis did not answer"
    assert "Timeout" in first
    assert second.startswith("serving store unavailable")


def test_the_read_timeout_is_a_setting() -> None:
    assert get_settings().store_read_timeout_ms == 100
    assert get_settings(store_read_timeout_ms=20).store_read_timeout_ms == 20
    with pytest.raises(ValueError, match="store_read_timeout_ms"):
        get_settings(store_read_timeout_ms=0)
