"""The DuckDB warehouse: one view per canonical table over a layer of the lake."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pytest
from fsspec import AbstractFileSystem
from fsspec.implementations.memory import MemoryFileSystem

from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_parquet_atomic
from vitrina.core.tables import EVENTS, SYNONYMS, TABLES, USERS

pytestmark = pytest.mark.unit

UTC = dt.UTC


def _events(n: int, start: dt.datetime, prefix: str = "e") -> pa.Table:
    """``n`` canonical events, one per hour from ``start``."""
    return pa.table(
        {
            "event_id": [f"{prefix}{i}" for i in range(n)],
            "user_id": [f"u{i % 3}" for i in range(n)],
            "product_id": [f"p{i % 5}" for i in range(n)],
            "event_type": ["view"] * n,
            "ts": [start + dt.timedelta(hours=i) for i in range(n)],
            "session_id": [f"s{i}" for i in range(n)],
            "device": ["mobile"] * n,
            "page": ["home"] * n,
            "position": [i if i % 2 else None for i in range(n)],
            "request_id": [None] * n,
        },
        schema=EVENTS.schema,
    )


def _users(ids: list[str]) -> pa.Table:
    return pa.table(
        {
            "user_id": ids,
            "signup_date": [dt.date(2024, 1, 1)] * len(ids),
            "age_range": ["25-34"] * len(ids),
            "city": ["Lima"] * len(ids),
            "segment": ["nuevo"] * len(ids),
            "lifetime_value": [10.0 * i for i in range(len(ids))],
        },
        schema=USERS.schema,
    )


@pytest.fixture
def lake(tmp_path: Path) -> LakePaths:
    return LakePaths(str(tmp_path / "lake"))


def test_fresh_lake_gives_empty_views_with_canonical_schema(lake: LakePaths) -> None:
    with Warehouse(lake) as warehouse:
        assert warehouse.present == frozenset()
        for name, spec in TABLES.items():
            result = warehouse.sql(f"SELECT * FROM {name}")
            assert result.num_rows == 0
            assert result.schema.equals(spec.schema), name
            assert warehouse.read(name).schema.equals(spec.schema)


def test_views_read_every_partition_of_the_validated_layer(lake: LakePaths) -> None:
    start = dt.datetime(2024, 3, 1, 20, tzinfo=UTC)
    events = _events(10, start)  # 20:00 day 1 … 05:00 day 2: two partitions
    assert len(write_table(lake, "validated", "events", events, "ts", part="a")) == 2
    with Warehouse(lake) as warehouse:
        assert warehouse.present == frozenset({"events"})
        count = warehouse.sql("SELECT count(*) AS n, min(ts) AS first FROM events")
        assert count["n"].to_pylist() == [10]
        assert count["first"].to_pylist() == [start]
        # the dt= folder is not a column: the view has the canonical columns only
        assert warehouse.read("events").schema.equals(EVENTS.schema)
        assert warehouse.sql("SELECT * FROM events").column_names == EVENTS.schema.names
        assert warehouse.read("events").sort_by("event_id").equals(events.sort_by("event_id"))


def test_layer_choice_reads_raw_and_refuses_non_canonical_layers(lake: LakePaths) -> None:
    write_table(lake, "raw", "users", _users(["a", "b", "c"]), None, snapshot_day=dt.date(2024, 1, 2))
    with Warehouse(lake, layer="raw") as raw, Warehouse(lake) as validated:
        assert raw.sql("SELECT count(*) AS n FROM users")["n"].to_pylist() == [3]
        assert validated.sql("SELECT count(*) AS n FROM users")["n"].to_pylist() == [0]
    with pytest.raises(ValueError, match="quarantine"):
        Warehouse(lake, layer="quarantine")  # type: ignore[arg-type]


def test_union_by_name_tolerates_files_missing_a_newer_column(lake: LakePaths) -> None:
    day = dt.date(2024, 1, 1)
    old = _users(["a"]).drop_columns(["lifetime_value"])
    write_parquet_atomic(old, f"{lake.partition('validated', 'users', day)}/part-old.parquet")
    write_table(lake, "validated", "users", _users(["b", "c"]), None, snapshot_day=day, part="new")
    with Warehouse(lake) as warehouse:
        rows = warehouse.sql("SELECT user_id, lifetime_value FROM users ORDER BY user_id").to_pylist()
    assert rows == [
        {"user_id": "a", "lifetime_value": None},
        {"user_id": "b", "lifetime_value": 0.0},
        {"user_id": "c", "lifetime_value": 10.0},
    ]


def test_new_files_are_seen_and_refresh_picks_up_tables_that_were_absent(lake: LakePaths) -> None:
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    write_table(lake, "validated", "events", _events(3, start), "ts", part="a")
    with Warehouse(lake) as warehouse:
        write_table(lake, "validated", "events", _events(2, start, prefix="x"), "ts", part="b")
        write_table(lake, "validated", "users", _users(["a"]), None, snapshot_day=start.date())
        # a glob view sees new files without a refresh …
        assert warehouse.sql("SELECT count(*) AS n FROM events")["n"].to_pylist() == [5]
        # … an empty view does not, until refresh
        assert warehouse.sql("SELECT count(*) AS n FROM users")["n"].to_pylist() == [0]
        assert warehouse.refresh() == frozenset({"events", "users"})
        assert warehouse.sql("SELECT count(*) AS n FROM users")["n"].to_pylist() == [1]


def test_hidden_files_and_folders_are_not_data(lake: LakePaths) -> None:
    """Same visibility rule as lake.io readers: names starting with '.' or '_' are skipped."""
    day = dt.date(2024, 1, 1)
    users = _users(["a"])
    write_table(lake, "validated", "users", users, None, snapshot_day=day, part="a")
    partition = lake.partition("validated", "users", day)
    write_parquet_atomic(_users(["hidden"]), f"{partition}/_staging.parquet")
    write_parquet_atomic(_users(["hidden"]), f"{partition}/.copy.parquet")
    write_parquet_atomic(
        _users(["hidden"]), f"{lake.table('validated', 'users')}/_temporary/0/part-0.parquet"
    )
    only_hidden = f"{lake.partition('validated', 'events', day)}/_partial.parquet"
    write_parquet_atomic(_events(2, dt.datetime(2024, 1, 1, tzinfo=UTC)), only_hidden)
    with Warehouse(lake) as warehouse:
        assert warehouse.read("users").equals(users)
        assert warehouse.present == frozenset({"users"})  # events has no visible file yet
        assert warehouse.sql("SELECT count(*) AS n FROM events")["n"].to_pylist() == [0]


def test_list_columns_and_parameters_and_pandas(lake: LakePaths) -> None:
    synonyms = pa.table(
        {
            "term": ["celular", "tv"],
            "synonyms": [["smartphone", "móvil"], ["televisor"]],
            "category_scope": ["Electrónica", None],
        },
        schema=SYNONYMS.schema,
    )
    write_table(lake, "validated", "synonyms", synonyms, None, snapshot_day=dt.date(2024, 1, 1))
    with Warehouse(lake) as warehouse:
        result = warehouse.sql("SELECT synonyms FROM synonyms WHERE term = ?", ["celular"])
        assert result["synonyms"].to_pylist() == [["smartphone", "móvil"]]
        named = warehouse.sql("SELECT term FROM synonyms WHERE len(synonyms) = $n", {"n": 1})
        assert named["term"].to_pylist() == ["tv"]
        assert warehouse.read("synonyms").equals(synonyms)
        frame = warehouse.df("SELECT * FROM synonyms ORDER BY term")
    assert list(frame["term"]) == ["celular", "tv"]


def test_timestamps_come_back_in_utc_whatever_the_session_zone(lake: LakePaths) -> None:
    start = dt.datetime(2024, 3, 1, 23, 30, tzinfo=UTC)
    write_table(lake, "validated", "events", _events(1, start), "ts", part="a")
    with Warehouse(lake) as warehouse:
        frame = warehouse.df("SELECT ts FROM events")
        assert str(frame["ts"].dt.tz) == "UTC"
        assert frame["ts"].iloc[0].to_pydatetime() == start
        day = warehouse.sql("SELECT CAST(ts AS DATE) AS d FROM events")["d"].to_pylist()
    assert day == [dt.date(2024, 3, 1)]  # the UTC day, not the machine's local day


def test_read_rejects_unknown_table(lake: LakePaths) -> None:
    with Warehouse(lake) as warehouse, pytest.raises(KeyError, match="unknown table"):
        warehouse.read("orders")


def test_statement_without_result_returns_empty_table(lake: LakePaths) -> None:
    with Warehouse(lake) as warehouse:
        assert warehouse.sql("CREATE TABLE scratch (a INTEGER)").num_rows == 0
        assert warehouse.sql("SET threads = 1").num_rows == 0
        assert warehouse.sql("SELECT count(*) AS n FROM scratch")["n"].to_pylist() == [0]


def test_persistent_database_lives_under_home_and_keeps_views(settings: Settings) -> None:
    lake = LakePaths(settings.lake)
    write_table(lake, "validated", "users", _users(["a", "b"]), None, snapshot_day=dt.date(2024, 1, 1))
    with Warehouse.from_settings(settings, persistent=True) as warehouse:
        assert warehouse.present == frozenset({"users"})
    database = settings.home / "warehouse.duckdb"
    assert database.is_file()
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        assert connection.sql("SELECT count(*) FROM users").fetchall() == [(2,)]


def test_context_manager_closes_the_connection(lake: LakePaths) -> None:
    with Warehouse(lake) as warehouse:
        pass
    import duckdb

    with pytest.raises(duckdb.ConnectionException):
        warehouse.sql("SELECT 1")


@pytest.fixture
def memory_lake() -> Iterator[LakePaths]:
    root = f"memory://wh-{uuid.uuid4().hex}"
    yield LakePaths(root)
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


def test_fsspec_lake_is_read_through_the_registered_filesystem(memory_lake: LakePaths) -> None:
    start = dt.datetime(2024, 3, 1, 22, tzinfo=UTC)
    write_table(memory_lake, "validated", "events", _events(4, start), "ts", part="a")
    with Warehouse(memory_lake) as warehouse:
        assert warehouse.present == frozenset({"events"})
        assert warehouse.read("events").sort_by("event_id").equals(_events(4, start).sort_by("event_id"))
        assert warehouse.sql("SELECT count(*) AS n FROM users")["n"].to_pylist() == [0]


class ListingCachingMemory(MemoryFileSystem):  # type: ignore[misc]  # fsspec ships no types
    """memory:// that lists through fsspec's listings cache, as s3fs does, counting the real
    listings (an object store's LIST requests)."""

    protocol = "listing-caching-memory"
    listings = 0

    def find(self, path: str, maxdepth: int | None = None, withdirs: bool = False, **kwargs: Any) -> Any:
        # memory:// finds files in its dict; an object store walks the listings
        return AbstractFileSystem.find(self, path, maxdepth=maxdepth, withdirs=withdirs, **kwargs)

    def ls(self, path: str, detail: bool = True, **kwargs: object) -> list[Any]:
        path = self._strip_protocol(path)
        entries = self.dircache.get(path)  # always None when the listings cache is off
        if entries is None:
            type(self).listings += 1
            entries = self.dircache[path] = super().ls(path, detail=True)
        return entries if detail else [entry["name"] for entry in entries]


@pytest.fixture
def listing_lake() -> Iterator[LakePaths]:
    fsspec.register_implementation(ListingCachingMemory.protocol, ListingCachingMemory, clobber=True)
    root = f"{ListingCachingMemory.protocol}://wh-{uuid.uuid4().hex}"
    yield LakePaths(root)
    fs = fsspec.filesystem("memory")
    if fs.exists(root.split("://", 1)[1]):
        fs.rm(root.split("://", 1)[1], recursive=True)


def test_a_remote_lake_is_listed_once_per_refresh_not_once_per_query(listing_lake: LakePaths) -> None:
    """Every query over a glob expands it; on an object store each expansion is a LIST per
    partition and a HEAD per file. The warehouse's own filesystem keeps the listings until
    the next refresh(), so queries after the first list nothing, and a refresh sees new files."""
    start = dt.datetime(2024, 3, 1, 12, tzinfo=UTC)
    write_table(listing_lake, "validated", "events", _events(72, start), "ts", part="a")  # 3 days
    with Warehouse(listing_lake) as warehouse:
        assert warehouse.sql("SELECT count(*) AS n FROM events")["n"].to_pylist() == [72]
        listed = ListingCachingMemory.listings
        assert listed > 0
        for _ in range(5):
            assert warehouse.sql("SELECT count(*) AS n FROM events")["n"].to_pylist() == [72]
        assert ListingCachingMemory.listings == listed

        later = dt.datetime(2024, 3, 10, 12, tzinfo=UTC)
        write_table(listing_lake, "validated", "events", _events(2, later, prefix="late"), "ts", part="b")
        warehouse.refresh()
        assert warehouse.sql("SELECT count(*) AS n FROM events")["n"].to_pylist() == [74]
        assert ListingCachingMemory.listings > listed
