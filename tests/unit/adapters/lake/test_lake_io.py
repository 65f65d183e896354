"""Lake tables (vitrina.adapters.lake.io) and the lake layout (vitrina.adapters.lake.paths)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vitrina.adapters.lake import io
from vitrina.adapters.lake.paths import LAYERS, LakePaths
from vitrina.core.artifacts import files

pytestmark = pytest.mark.unit

UTC = dt.UTC
SCHEMA = pa.schema([("id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")), ("x", pa.int64())])


def _rows(stamps: list[dt.datetime], prefix: str = "r") -> pa.Table:
    return pa.table(
        {"id": [f"{prefix}{i}" for i in range(len(stamps))], "ts": stamps, "x": list(range(len(stamps)))},
        schema=SCHEMA,
    )


def _all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class _DiskFullError(RuntimeError):
    pass


@pytest.fixture
def lake(tmp_path: Path) -> LakePaths:
    return LakePaths(str(tmp_path / "lake"))


@pytest.fixture
def memory_lake() -> Iterator[LakePaths]:
    root = f"memory://io-{uuid.uuid4().hex}"
    yield LakePaths(root)
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


# -- paths ---------------------------------------------------------------------------------


def test_paths_follow_the_documented_layout() -> None:
    lake = LakePaths("s3://bucket/lake/")
    assert lake.layer("raw") == "s3://bucket/lake/raw"
    assert lake.table("validated", "events") == "s3://bucket/lake/validated/events"
    assert lake.partition("raw", "events", dt.date(2024, 2, 9)) == "s3://bucket/lake/raw/events/dt=2024-02-09"
    assert lake.glob("raw", "events") == "s3://bucket/lake/raw/events/dt=*/[!._]*.parquet"
    assert {"raw", "validated", "quarantine", "state"} <= set(LAYERS)


# -- readers see whole files only ----------------------------------------------------------


def test_reader_never_lists_a_temporary_file(lake: LakePaths, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the temporary file exists (mid-write), readers see only complete files."""
    io.write_table(lake, "raw", "t", _rows([dt.datetime(2024, 1, 1, tzinfo=UTC)]), "ts", part="old")
    seen_mid_write: list[list[str]] = []
    real_write = pq.write_table

    def observing_write(table: pa.Table, where: Any, **kwargs: Any) -> None:
        real_write(table, where, **kwargs)
        where.flush()
        seen_mid_write.append(io.list_parquet_files(lake, "raw", "t"))

    monkeypatch.setattr(pq, "write_table", observing_write)
    io.write_table(lake, "raw", "t", _rows([dt.datetime(2024, 1, 1, tzinfo=UTC)]), "ts", part="new")
    assert len(seen_mid_write) == 1
    assert [Path(f).name for f in seen_mid_write[0]] == ["part-old.parquet"]
    assert [Path(f).name for f in io.list_parquet_files(lake, "raw", "t")] == [
        "part-new.parquet",
        "part-old.parquet",
    ]


def test_hidden_files_and_folders_are_skipped(lake: LakePaths) -> None:
    day = dt.date(2024, 1, 1)
    one = _rows([dt.datetime(2024, 1, 1, tzinfo=UTC)])
    folder = lake.partition("raw", "t", day)
    files.write_parquet_atomic(one, f"{folder}/part-a.parquet")
    files.write_parquet_atomic(one, f"{folder}/_staging/part-b.parquet")
    files.write_parquet_atomic(one, f"{folder}/.hidden.parquet")
    files.write_parquet_atomic(one, f"{lake.table('raw', 't')}/_tmp/dt=2024-01-01/part-c.parquet")
    assert [Path(f).name for f in io.list_parquet_files(lake, "raw", "t")] == ["part-a.parquet"]
    assert io.read_table(lake, "raw", "t").num_rows == 1


# -- partitioning --------------------------------------------------------------------------


def test_dated_tables_are_partitioned_by_utc_day(lake: LakePaths, tmp_path: Path) -> None:
    lima = dt.timezone(dt.timedelta(hours=-5))
    stamps = [
        dt.datetime(2024, 1, 1, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(2024, 1, 2, 0, 0, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 20, 30, tzinfo=lima),  # 01:30 UTC on the 2nd
        dt.datetime(2024, 1, 3, 12, tzinfo=UTC),
    ]
    written = io.write_table(lake, "raw", "t", _rows(stamps), "ts", part="p")
    assert [Path(w).parent.name for w in written] == ["dt=2024-01-01", "dt=2024-01-02", "dt=2024-01-03"]
    per_day = {Path(w).parent.name: pq.read_table(w)["id"].to_pylist() for w in written}
    assert per_day == {"dt=2024-01-01": ["r0"], "dt=2024-01-02": ["r1", "r2"], "dt=2024-01-03": ["r3"]}


def test_partition_days_handles_zone_less_and_date_columns() -> None:
    naive = pa.table({"ts": pa.array([dt.datetime(2024, 5, 1, 23, 30)], pa.timestamp("ms"))})
    dates = pa.table({"ts": pa.array([dt.date(2024, 5, 2), dt.date(2024, 5, 1)], pa.date32())})
    assert [day for day, _ in io.partition_days(naive, "ts")] == [dt.date(2024, 5, 1)]
    assert [day for day, _ in io.partition_days(dates, "ts")] == [dt.date(2024, 5, 1), dt.date(2024, 5, 2)]
    assert list(io.partition_days(naive.slice(0, 0), "ts")) == []


def test_snapshots_go_to_the_snapshot_day(lake: LakePaths) -> None:
    table = _rows([dt.datetime(2023, 6, 1, tzinfo=UTC)])
    [written] = io.write_table(lake, "raw", "snap", table, None, snapshot_day=dt.date(2024, 2, 29), part="s")
    assert written == f"{lake.partition('raw', 'snap', dt.date(2024, 2, 29))}/part-s.parquet"
    [today] = io.write_table(lake, "raw", "snap", table, None)
    assert f"dt={dt.datetime.now(UTC).date().isoformat()}" in today  # default: today, UTC


def test_deterministic_part_replaces_instead_of_duplicating(lake: LakePaths) -> None:
    first = _rows([dt.datetime(2024, 1, 1, h, tzinfo=UTC) for h in range(3)], prefix="a")
    second = _rows([dt.datetime(2024, 1, 1, h, tzinfo=UTC) for h in range(5)], prefix="b")
    io.write_table(lake, "raw", "t", first, "ts", part="daily")
    io.write_table(lake, "raw", "t", second, "ts", part="daily")
    assert len(io.list_parquet_files(lake, "raw", "t")) == 1
    assert io.read_table(lake, "raw", "t").equals(second)
    io.write_table(lake, "raw", "t", first, "ts")  # no part: a new file beside
    io.write_table(lake, "raw", "t", first, "ts")
    assert len(io.list_parquet_files(lake, "raw", "t")) == 3
    assert io.read_table(lake, "raw", "t").num_rows == 5 + 3 + 3


# -- reading -------------------------------------------------------------------------------


def test_read_table_without_files(lake: LakePaths) -> None:
    with pytest.raises(FileNotFoundError, match="no Parquet files"):
        io.read_table(lake, "raw", "missing")
    empty = io.read_table(lake, "raw", "missing", schema=SCHEMA)
    assert empty.num_rows == 0
    assert empty.schema.equals(SCHEMA)
    assert io.list_parquet_files(lake, "raw", "missing") == []


def test_read_table_with_files_in_partition_order_and_schema(lake: LakePaths) -> None:
    stamps = [dt.datetime(2024, 1, d, tzinfo=UTC) for d in (3, 1, 2)]
    io.write_table(lake, "raw", "t", _rows(stamps), "ts", part="p")
    table = io.read_table(lake, "raw", "t")
    assert table.schema.equals(SCHEMA)  # no dt column added
    assert table["ts"].to_pylist() == sorted(stamps)
    wider = SCHEMA.append(pa.field("extra", pa.string()))
    assert io.read_table(lake, "raw", "t", schema=wider)["extra"].null_count == 3


def test_remove_table(lake: LakePaths) -> None:
    io.write_table(lake, "raw", "t", _rows([dt.datetime(2024, 1, 1, tzinfo=UTC)]), "ts")
    io.remove_table(lake, "raw", "t")
    io.remove_table(lake, "raw", "t")  # idempotent
    assert io.list_parquet_files(lake, "raw", "t") == []


def test_rows_without_a_date_are_not_lost(lake: LakePaths) -> None:
    table = pa.table(
        {"id": ["a", "b"], "ts": [dt.datetime(2024, 1, 1, tzinfo=UTC), None]}, schema=SCHEMA.remove(2)
    )
    io.write_table(lake, "raw", "t", table, "ts", snapshot_day=dt.date(2024, 1, 5), part="p")
    assert sorted(io.read_table(lake, "raw", "t")["id"].to_pylist()) == ["a", "b"]


# -- fsspec --------------------------------------------------------------------------------


def test_same_code_works_on_an_fsspec_memory_lake(memory_lake: LakePaths) -> None:
    stamps = [dt.datetime(2024, 1, 1, 22, tzinfo=UTC), dt.datetime(2024, 1, 2, 2, tzinfo=UTC)]
    written = io.write_table(memory_lake, "raw", "t", _rows(stamps), "ts", part="p")
    io.write_table(memory_lake, "raw", "t", _rows(stamps), "ts", part="p")  # replaces
    assert all(w.startswith("memory://") for w in written)
    listed = io.list_parquet_files(memory_lake, "raw", "t")
    assert len(listed) == 2
    assert all(f.startswith("memory://") for f in listed)
    assert io.read_table(memory_lake, "raw", "t").equals(_rows(stamps))
    fs = fsspec.filesystem("memory")
    leftovers = [f for f in fs.find(memory_lake.root) if Path(f).name.startswith(".")]
    assert leftovers == []
    state = f"{memory_lake.layer('state')}/w.json"
    files.write_json_atomic({"a": 1}, state)
    assert files.read_json(state) == {"a": 1}
    io.remove_table(memory_lake, "raw", "t")
    assert io.read_table(memory_lake, "raw", "t", schema=SCHEMA).num_rows == 0
