"""One contract for every serving store: the same tests run on SQLite and on the real Redis.

Each test gets a ``make`` factory that opens a new store on the same backing data (a
SQLite file in tmp_path, or a unique Redis key prefix deleted afterwards), so a second
instance plays the reader (another process, the API) while the first writes. Product ids
embed the batch version (``v2-u7-3``), so a record shows which batch its items came from.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vitrina.adapters.stores import (
    Recommendation,
    RecsStore,
    StoreUnavailableError,
    VersionError,
)
from vitrina.adapters.stores.base import CHALLENGER, SIMILAR, TOGETHER
from vitrina.adapters.stores.redis import RedisRecsStore
from vitrina.adapters.stores.sqlite import SQLiteRecsStore
from vitrina.bootstrap import open_store
from vitrina.config import get_settings

pytestmark = pytest.mark.integration

MakeStore = Callable[..., RecsStore]
USERS = [f"u{i}" for i in range(40)]


class FakeClock:
    """Starts at the real time (Redis computes key expiry from it) and moves on demand."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "redis"])
def make(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[MakeStore]:
    opened: list[RecsStore] = []
    prefix = f"vitrina-test-{uuid.uuid4().hex[:12]}:recs"
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""

    def factory(**options: Any) -> RecsStore:
        options.setdefault("clock", clock)
        store: RecsStore
        if request.param == "sqlite":
            store = SQLiteRecsStore(tmp_path / "store.sqlite3", **options)
        else:
            store = RedisRecsStore(url, prefix=prefix, **options)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()
    if url:
        with RedisRecsStore(url, prefix=prefix) as cleaner:
            cleaner.remove_all()


def lists(version: str, users: list[str], k: int = 5) -> dict[str, list[Recommendation]]:
    return {
        u: [Recommendation(f"{version}-{u}-{j}", float(k - j) / 3, f"porque viste {j}") for j in range(k)]
        for u in users
    }


def popular_of(version: str) -> list[Recommendation]:
    return [Recommendation(f"{version}-pop-{j}", 10.0 - j, "popular ahora") for j in range(3)]


def write(store: RecsStore, version: str, users: list[str] = USERS, model: str = "m1") -> None:
    with store.begin_version(version, model_version=model) as writer:
        writer.put_many(lists(version, users).items())
        writer.set_popular(popular_of(version))


def read_versions(store: RecsStore, users: list[str]) -> list[str | None]:
    """The batch each user's record came from, in reading order (None: no record)."""
    seen: list[str | None] = []
    for user in users:
        record = store.get(user)
        seen.append(None if record is None else record.version)
        if record is not None:  # the items come from the batch the record claims
            assert all(item.product_id.startswith(f"{record.version}-{user}-") for item in record.items)
    return seen


def versions_seen(store: RecsStore, users: list[str] = USERS) -> set[str | None]:
    return set(read_versions(store, users))


def test_publish_then_read(make: MakeStore, clock: FakeClock) -> None:
    store = make()
    assert store.current_version() is None
    assert store.get("u1") is None
    write(store, "v1", model="two-tower@3")
    assert store.get("u1") is None, "an unpublished version is invisible"
    store.publish("v1")
    record = store.get("u1")
    assert record is not None
    assert record.items == tuple(lists("v1", ["u1"])["u1"])
    assert (record.user_id, record.version, record.model_version) == ("u1", "v1", "two-tower@3")
    assert record.generated_at == clock.now
    assert record.expires_at == clock.now + dt.timedelta(hours=6)
    assert store.current_version() == "v1"
    [info] = store.versions()
    assert (info.version, info.users, info.published_at) == ("v1", len(USERS), clock.now)


def test_unknown_user_is_none(make: MakeStore) -> None:
    store = make()
    write(store, "v1")
    store.publish("v1")
    assert store.get("nobody") is None
    assert store.get("u1:recs") is None


def test_reader_sees_old_version_until_publish(make: MakeStore) -> None:
    writer_store, reader = make(), make()
    write(writer_store, "v1")
    writer_store.publish("v1")
    writer = writer_store.begin_version("v2", model_version="m2")
    writer.put_many(lists("v2", USERS[:20]).items())
    writer._flush()  # type: ignore[attr-defined]  # half the batch is really in the backend now
    assert versions_seen(reader) == {"v1"}
    writer.put_many(lists("v2", USERS[20:]).items())
    writer.finish()
    assert versions_seen(reader) == {"v1"}, "finished but unpublished: still invisible"
    writer_store.publish("v2")
    assert versions_seen(reader) == {"v2"}, "after publish every user reads the new batch"
    assert reader.current_version() == "v2"


def test_concurrent_reader_never_goes_back_or_mixes(make: MakeStore) -> None:
    writer_store, reader = make(), make()
    users = USERS[:10]
    write(writer_store, "v1", users)
    writer_store.publish("v1")
    observed: list[str | None] = []
    reading, published = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def read_loop() -> None:
        try:
            reads_after = 0
            while reads_after < 30:
                observed.extend(read_versions(reader, users))
                reading.set()
                reads_after += published.is_set()
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)
            reading.set()

    thread = threading.Thread(target=read_loop)
    thread.start()
    assert reading.wait(timeout=30)
    write(writer_store, "v2", users)
    writer_store.publish("v2")
    published.set()
    thread.join(timeout=30)
    assert not errors, errors
    assert None not in observed, "a published user never reads as missing during a switch"
    first_new = observed.index("v2")
    assert set(observed[:first_new]) == {"v1"}
    assert set(observed[first_new:]) == {"v2"}, "once the new batch is seen, the old one never comes back"


def test_unfinished_or_aborted_versions_cannot_be_published(make: MakeStore) -> None:
    store = make()
    writer = store.begin_version("v1", model_version="m")
    writer.put("u1", lists("v1", ["u1"])["u1"])
    with pytest.raises(VersionError, match="still being written"):
        store.publish("v1")

    def crashing_batch() -> None:
        with store.begin_version("v2", model_version="m") as failing:
            failing.put("u1", lists("v2", ["u1"])["u1"])
            raise RuntimeError("the batch crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        crashing_batch()
    assert [i.version for i in store.versions()] == ["v1"], "an aborted version leaves nothing"
    with pytest.raises(VersionError, match="unknown version"):
        store.publish("v2")


def test_rerun_replaces_an_unfinished_leftover(make: MakeStore) -> None:
    store = make()
    crashed = store.begin_version("v1", model_version="m")
    crashed.put_many(lists("v1", ["ghost"]).items())
    crashed._flush()  # type: ignore[attr-defined]
    write(store, "v1", USERS[:3])
    store.publish("v1")
    assert store.get("ghost") is None
    assert versions_seen(store, USERS[:3]) == {"v1"}


def test_published_version_is_immutable(make: MakeStore) -> None:
    store = make()
    write(store, "v1")
    store.publish("v1")
    with pytest.raises(VersionError, match="immutable"):
        store.begin_version("v1", model_version="m")
    with pytest.raises(ValueError, match="version must match"):
        store.begin_version("v:1*", model_version="m")


def test_rollback(make: MakeStore) -> None:
    store = make()
    write(store, "v1")
    store.publish("v1")
    write(store, "v2")
    store.publish("v2")
    store.rollback_to("v1")
    assert store.current_version() == "v1"
    assert versions_seen(store) == {"v1"}
    assert store.popular() is not None
    assert store.popular().version == "v1"  # type: ignore[union-attr]
    store.rollback_to("v2")
    assert versions_seen(store) == {"v2"}
    with pytest.raises(VersionError, match="unknown"):
        store.rollback_to("v9")
    write(store, "v3")
    with pytest.raises(VersionError, match="never published"):
        store.rollback_to("v3")


def test_retention_keeps_the_last_versions(make: MakeStore) -> None:
    store = make(keep=2)
    for n in range(1, 5):
        write(store, f"v{n}", USERS[:3])
        dropped = store.publish(f"v{n}")
        assert dropped == ([f"v{n - 2}"] if n > 2 else [])
    assert [i.version for i in store.versions()] == ["v3", "v4"]
    with pytest.raises(VersionError, match="unknown"):
        store.rollback_to("v1")
    store.rollback_to("v3")
    assert versions_seen(store, USERS[:3]) == {"v3"}
    write(store, "v5", USERS[:3])
    store.publish("v5")
    assert [i.version for i in store.versions()] == ["v4", "v5"]
    fresh = make(keep=2)  # what retention deleted is gone from the backend, not just hidden
    fresh.rollback_to("v4")
    assert versions_seen(fresh, USERS[:3]) == {"v4"}


def test_expired_records_read_as_missing(make: MakeStore, clock: FakeClock) -> None:
    store = make(ttl=dt.timedelta(hours=1))
    write(store, "v1")
    store.publish("v1")
    clock.advance(dt.timedelta(minutes=59))
    assert versions_seen(store) == {"v1"}
    write(store, "v2")
    clock.advance(dt.timedelta(minutes=2))
    assert versions_seen(store) == {None}
    assert store.popular() is None
    with pytest.raises(VersionError, match="expired"):
        store.rollback_to("v1")
    store.publish("v2")  # begun a minute later: still valid
    assert versions_seen(store) == {"v2"}


def test_popular_fallback_travels_with_the_version(make: MakeStore) -> None:
    store = make()
    assert store.popular() is None
    write(store, "v1")
    store.publish("v1")
    popular = store.popular()
    assert popular is not None
    assert popular.user_id is None
    assert popular.items == tuple(popular_of("v1"))
    assert popular.version == "v1"


def test_unicode_round_trip(make: MakeStore) -> None:
    store = make()
    items = [
        Recommendation("MLA-ñ-1", 0.25, "porque viste Celular Samsung Nova 5"),
        Recommendation("MLA-2", -1.5e-7, "popular en tu ciudad: Bogotá — “Envío gratis” 🚚"),
    ]
    with store.begin_version("v1", model_version="modelo-año") as writer:
        writer.put("usuario:ñandú", items)
        writer.set_popular(items[::-1])
    store.publish("v1")
    record = store.get("usuario:ñandú")
    assert record is not None
    assert record.items == tuple(items)
    assert record.model_version == "modelo-año"
    assert store.popular().items == tuple(items[::-1])  # type: ignore[union-attr]


def test_bulk_write_spans_several_flushes(make: MakeStore) -> None:
    store = make()
    users = [f"user-{i}" for i in range(11_000)]  # > 2 × the writer's flush size
    with store.begin_version("v1", model_version="m") as writer:
        written = writer.put_many((u, [Recommendation(f"v1-{u}-0", 1.0, "r")]) for u in users)
    assert written == len(users)
    store.publish("v1")
    assert store.versions()[0].users == len(users)
    assert versions_seen(store, users[::997] + users[-1:]) == {"v1"}


def test_columnar_put_writes_the_same_records(make: MakeStore) -> None:
    store = make()
    wanted = lists("v1", USERS[:3], k=4)
    cells = [item for user in USERS[:3] for item in wanted[user]]
    with store.begin_version("v1", model_version="m") as writer:
        written = writer.put_columns(
            USERS[:3],
            [4, 4, 4],
            [c.product_id for c in cells],
            [c.score for c in cells],
            [c.reason for c in cells],
        )
        with pytest.raises(ValueError, match="counts summing"):
            writer.put_columns(["x"], [2], ["p"], [1.0], ["r"])
    store.publish("v1")
    assert written == 3
    assert store.versions()[0].users == 3
    for user in USERS[:3]:
        assert store.get(user).items == tuple(wanted[user])  # type: ignore[union-attr]


def write_keyed(store: RecsStore, version: str, products: list[str]) -> None:
    """Users' lists plus each product's similar list (``{version}-sim-{product}-{j}``)."""
    with store.begin_version(version, model_version="m") as writer:
        writer.put_many(lists(version, USERS[:2]).items())
        cells = [(f"{version}-sim-{p}-{j}", 2.0 - j, "parecido") for p in products for j in range(2)]
        written = writer.put_lists(
            SIMILAR, products, [2] * len(products), *(list(column) for column in zip(*cells, strict=True))
        )
        assert written == len(products)
        writer.set_popular(popular_of(version))


def test_keyed_lists_switch_with_the_version(make: MakeStore) -> None:
    store = make()
    products = ["p1", "p-ñ"]
    write_keyed(store, "v1", products)
    assert store.get_list(SIMILAR, "p1") is None, "an unpublished version is invisible"
    store.publish("v1")
    record = store.get_list(SIMILAR, "p-ñ")
    assert record is not None
    assert (record.user_id, record.version) == ("p-ñ", "v1")
    assert record.items == (
        Recommendation("v1-sim-p-ñ-0", 2.0, "parecido"),
        Recommendation("v1-sim-p-ñ-1", 1.0, "parecido"),
    )
    assert store.get_list(TOGETHER, "p1") is None, "each kind has its own keys"
    assert store.get("p1") is None, "a product's list is not a user's list"
    assert store.versions()[-1].users == 2, "keyed lists do not count as users"
    write_keyed(store, "v2", ["p1"])
    assert store.get_list(SIMILAR, "p1").version == "v1"  # type: ignore[union-attr]
    store.publish("v2")
    assert store.get_list(SIMILAR, "p1").version == "v2"  # type: ignore[union-attr]
    assert store.get_list(SIMILAR, "p-ñ") is None, "the new version holds only its own keys"
    store.rollback_to("v1")
    assert store.get_list(SIMILAR, "p-ñ").version == "v1"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="list kind"):
        store.get_list("users", "p1")


def test_keyed_lists_are_dropped_with_their_version(make: MakeStore) -> None:
    store = make(keep=1)
    write_keyed(store, "v1", ["p1"])
    store.publish("v1")
    write_keyed(store, "v2", ["p2"])
    assert store.publish("v2") == ["v1"]
    fresh = make(keep=1)
    with pytest.raises(VersionError, match="unknown"):
        fresh.rollback_to("v1")
    assert fresh.get_list(SIMILAR, "p1") is None
    assert fresh.get_list(SIMILAR, "p2") is not None


def test_unreachable_redis_fails_with_one_clear_sentence() -> None:
    with pytest.raises(
        StoreUnavailableError, match=r"^the Redis serving store at redis://\*\*\*@127\.0\.0\.1:1/0"
    ):
        RedisRecsStore("redis://user:secret@127.0.0.1:1/0", timeout_s=0.5)


def test_factory_selects_the_backend(tmp_path: Path, redis_url: str) -> None:
    settings = get_settings(home=tmp_path / "home")
    with open_store(settings) as store:
        assert isinstance(store, SQLiteRecsStore)
        assert store.path == tmp_path / "home" / "serving" / "store.sqlite3"
    explicit = get_settings(home=tmp_path, store_url=f"sqlite:///{tmp_path}/other.db")
    with open_store(explicit) as store:
        assert isinstance(store, SQLiteRecsStore)
        assert store.path == tmp_path / "other.db"
    with open_store(get_settings(home=tmp_path, store_url=redis_url)) as store:
        assert isinstance(store, RedisRecsStore)
    with pytest.raises(ValueError, match="VITRINA_STORE_URL"):
        open_store(get_settings(home=tmp_path, store_url="memcached://x"))


def test_redis_keys_are_namespaced_and_expire(redis_url: str, clock: FakeClock) -> None:
    import redis

    prefix = f"vitrina-test-{uuid.uuid4().hex[:12]}:recs"
    with RedisRecsStore(redis_url, prefix=prefix, clock=clock, ttl=dt.timedelta(hours=6)) as store:
        try:
            write(store, "v1", USERS[:2])
            store.publish("v1")
            raw = redis.Redis.from_url(redis_url, decode_responses=True)
            assert raw.get(f"{prefix}:current") == "v1"
            ttl_ms = raw.pttl(f"{prefix}:vv1:user:u1")
            assert 5.9 * 3600e3 < ttl_ms <= 6 * 3600e3  # type: ignore[operator]
            assert 0 < raw.pttl(f"{prefix}:vv1:popular") <= 6 * 3600e3  # type: ignore[operator]
            assert raw.pttl(f"{prefix}:current") == -1, "the pointer itself never expires"
        finally:
            store.remove_all()


def challenger_versions(store: RecsStore, users: list[str] = USERS) -> set[str | None]:
    seen = set()
    for user in users:
        record = store.get(user, CHALLENGER)
        seen.add(None if record is None else record.version)
        if record is not None:
            assert all(item.product_id.startswith(f"{record.version}-{user}-") for item in record.items)
    return seen


def test_a_challenger_version_is_served_beside_the_current_one(make: MakeStore) -> None:
    store, reader = make(), make()
    write(store, "v1")
    store.publish("v1")
    assert reader.challenger_version() is None
    assert reader.get("u1", CHALLENGER) is None, "no challenger pointer: nothing to read"
    write(store, "c1", USERS[:10], model="recs-challenger")
    store.publish("c1", CHALLENGER)
    assert reader.current_version() == "v1", "publishing a challenger never moves the current pointer"
    assert versions_seen(reader) == {"v1"}
    assert reader.challenger_version() == "c1"
    assert challenger_versions(reader, USERS[:10]) == {"c1"}
    assert reader.get("u20", CHALLENGER) is None, "a user the challenger's batch lacks"
    assert reader.get("u1", CHALLENGER).model_version == "recs-challenger"  # type: ignore[union-attr]
    assert reader.popular(CHALLENGER).version == "c1"  # type: ignore[union-attr]
    with pytest.raises(VersionError, match="current one"):
        store.publish("v1", CHALLENGER)
    with pytest.raises(ValueError, match="channel"):
        store.get("u1", "shadow")


def test_retention_keeps_the_challenger_and_withdrawal_or_promotion_clear_it(make: MakeStore) -> None:
    store = make(keep=1)
    write(store, "v1", USERS[:3])
    store.publish("v1")
    write(store, "c1", USERS[:3])
    assert store.publish("c1", CHALLENGER) == []
    write(store, "v2", USERS[:3])
    assert store.publish("v2") == ["v1"], "the challenger's version survives the champion's next batch"
    assert challenger_versions(store, USERS[:3]) == {"c1"}
    assert store.withdraw_challenger() == "c1"
    assert store.challenger_version() is None
    assert challenger_versions(store, USERS[:3]) == {None}
    assert store.withdraw_challenger() is None
    store.publish("c1", CHALLENGER)  # still retained: it can be pointed at again
    store.publish("c1")  # promoted: current now, and no longer a challenger
    assert (store.current_version(), store.challenger_version()) == ("c1", None)
    assert versions_seen(store, USERS[:3]) == {"c1"}
