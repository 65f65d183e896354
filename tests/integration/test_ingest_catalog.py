"""Catalog ingestion against the real PostgreSQL: load, incremental reads, watermark safety."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from vitrina.adapters.ingest import catalog_changes as ingest
from vitrina.adapters.ingest.catalog_changes import (
    SourceError,
    ingest_catalog_from_postgres,
    state_url,
)
from vitrina.adapters.ingest.catalog_to_postgres import load_catalog_to_postgres
from vitrina.adapters.lake.io import list_parquet_files, read_table, remove_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.cli.main import app
from vitrina.config import Settings
from vitrina.core.artifacts.files import read_json
from vitrina.core.tables import CATALOG

pytestmark = pytest.mark.integration

UTC = dt.UTC
T0 = dt.datetime(2024, 3, 1, 12, tzinfo=UTC)
DAY = dt.date(2024, 3, 5)


def _catalog(ids: range, updated: dt.datetime, title: str = "Producto") -> pa.Table:
    """Hand-made canonical products; ``updated_at`` one second apart from ``updated``."""
    n = len(ids)
    return pa.table(
        {
            "product_id": [f"p{i:04d}" for i in ids],
            "title": [f'{title} {i} ñandú, "comillas"\ny salto' for i in ids],
            "description": [None if i % 4 == 0 else "" if i % 4 == 1 else f"desc {i}" for i in ids],
            "category_l1": ["Electrónica"] * n,
            "category_l2": ["Celulares"] * n,
            "category_l3": ["Smartphones"] * n,
            "brand": ["Marca"] * n,
            "price": [100.0 + i / 3 for i in ids],
            "cost": [None if i % 5 == 0 else 50.0 for i in ids],
            "stock": [i % 3 for i in ids],
            "seller_id": [f"s{i % 2}" for i in ids],
            "created_at": [T0 - dt.timedelta(days=30)] * n,
            "updated_at": [updated + dt.timedelta(seconds=k) for k in range(n)],
            "is_sponsored": [i % 2 == 0 for i in ids],
            "is_reported": [None if i % 7 == 0 else False for i in ids],
        },
        schema=CATALOG.schema,
    )


def _pg_catalog(url: str, table: str) -> pa.Table:
    with psycopg.connect(url) as connection:
        connection.execute("SET TIME ZONE 'UTC'")
        rows = connection.execute(f'SELECT {", ".join(CATALOG.schema.names)} FROM "{table}"').fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in CATALOG.schema]
    return pa.table(
        [pa.array(list(c), type=f.type) for c, f in zip(columns, CATALOG.schema, strict=True)],
        schema=CATALOG.schema,
    ).sort_by("product_id")


def _latest_per_product(change_log: pa.Table) -> pa.Table:
    ordered = change_log.sort_by([("product_id", "ascending"), ("updated_at", "descending")])
    ids = ordered["product_id"].to_pylist()
    keep = [i for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
    return ordered.take(keep).sort_by("product_id")


def _ingest(settings: Settings, url: str, table: str, **kwargs: Any) -> ingest.IngestResult:
    return ingest_catalog_from_postgres(settings, url=url, table=table, ingestion_day=DAY, **kwargs)


def _update(url: str, table: str, statement: str, *params: Any) -> None:
    with psycopg.connect(url) as connection:
        connection.execute(statement.format(table=f'"{table}"'), params)


def test_load_creates_keyed_indexed_table_and_upserts(postgres_url: str, pg_table: str) -> None:
    first = _catalog(range(20), T0)
    assert load_catalog_to_postgres(first, postgres_url, pg_table) == 20
    assert _pg_catalog(postgres_url, pg_table).equals(first.sort_by("product_id"))
    assert load_catalog_to_postgres(first, postgres_url, pg_table) == 0  # identical rows untouched
    changed = _catalog(range(15, 25), T0 + dt.timedelta(hours=1), title="Nuevo")
    assert load_catalog_to_postgres(changed, postgres_url, pg_table) == 10  # 5 updated + 5 inserted
    stored = _pg_catalog(postgres_url, pg_table)
    assert stored.num_rows == 25
    expected = pa.concat_tables([first.slice(0, 15), changed]).sort_by("product_id")
    assert stored.equals(expected)
    with psycopg.connect(postgres_url) as connection:
        indexes = connection.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s", (pg_table,)
        ).fetchall()
    definitions = " ".join(row[0] for row in indexes)
    assert "(product_id)" in definitions
    assert "(updated_at, product_id)" in definitions


def test_load_refuses_rows_a_keyed_table_cannot_hold(postgres_url: str, pg_table: str) -> None:
    good = _catalog(range(3), T0)
    duplicated = pa.concat_tables([good, good.slice(0, 1)])
    with pytest.raises(ValueError, match="1 catalog rows repeat a product_id"):
        load_catalog_to_postgres(duplicated, postgres_url, pg_table)
    no_time = good.set_column(
        12, "updated_at", pa.array([None, T0, T0], CATALOG.schema.field("updated_at").type)
    )
    with pytest.raises(ValueError, match="no updated_at"):
        load_catalog_to_postgres(no_time, postgres_url, pg_table)
    with pytest.raises(ValueError, match="lacks the columns price"):
        load_catalog_to_postgres(good.drop_columns(["price"]), postgres_url, pg_table)


def test_incremental_ingestion_reads_exactly_the_changes(
    settings: Settings, postgres_url: str, pg_table: str
) -> None:
    lake = LakePaths(settings.lake)
    load_catalog_to_postgres(_catalog(range(30), T0), postgres_url, pg_table)

    first = _ingest(settings, postgres_url, pg_table, chunk_rows=8)
    assert first.rows == 30
    assert first.watermark_before is None
    assert first.watermark_after == T0 + dt.timedelta(seconds=29)
    assert len(first.files) == 4  # 8 + 8 + 8 + 6 rows
    assert all(f"dt={DAY.isoformat()}" in f for f in first.files)
    assert (
        read_table(lake, "raw", "catalog")
        .sort_by("product_id")
        .equals(_catalog(range(30), T0).sort_by("product_id"))
    )

    later = T0 + dt.timedelta(days=1)
    _update(
        postgres_url,
        pg_table,
        "UPDATE {table} SET price = price * 2, updated_at = %s WHERE product_id IN ('p0003', 'p0010')",
        later,
    )
    load_catalog_to_postgres(_catalog(range(30, 33), later + dt.timedelta(minutes=1)), postgres_url, pg_table)

    second = _ingest(settings, postgres_url, pg_table)
    assert second.rows == 5
    assert second.watermark_before == first.watermark_after
    assert second.watermark_after == later + dt.timedelta(minutes=1, seconds=2)
    changed = pa.concat_tables(
        [
            read_table(LakePaths(settings.lake), "raw", "catalog").filter(
                pc.greater_equal(
                    pc.field("updated_at"), pa.scalar(later, CATALOG.schema.field("updated_at").type)
                )
            )
        ]
    )
    assert sorted(changed["product_id"].to_pylist()) == ["p0003", "p0010", "p0030", "p0031", "p0032"]

    files_before = list_parquet_files(lake, "raw", "catalog")
    state_before = read_json(state_url(lake, pg_table))
    again = _ingest(settings, postgres_url, pg_table)
    assert (again.rows, again.files) == (0, ())
    assert again.watermark_after == again.watermark_before == second.watermark_after
    assert list_parquet_files(lake, "raw", "catalog") == files_before
    assert read_json(state_url(lake, pg_table)) == state_before  # not even rewritten

    change_log = read_table(lake, "raw", "catalog", schema=CATALOG.schema)
    assert change_log.num_rows == 30 + 5
    assert _latest_per_product(change_log).equals(_pg_catalog(postgres_url, pg_table))


def test_rows_committed_late_at_or_below_the_watermark_are_not_lost(
    settings: Settings, postgres_url: str, pg_table: str
) -> None:
    load_catalog_to_postgres(_catalog(range(5), T0), postgres_url, pg_table)
    first = _ingest(settings, postgres_url, pg_table, lookback=dt.timedelta(minutes=5))
    watermark = first.watermark_after
    assert watermark is not None
    # two writers whose transactions stamped rows before the last read but committed after it
    load_catalog_to_postgres(_catalog(range(5, 6), watermark), postgres_url, pg_table)  # same instant
    load_catalog_to_postgres(
        _catalog(range(6, 7), watermark - dt.timedelta(minutes=2)), postgres_url, pg_table
    )
    load_catalog_to_postgres(_catalog(range(7, 8), watermark - dt.timedelta(hours=2)), postgres_url, pg_table)
    second = _ingest(settings, postgres_url, pg_table, lookback=dt.timedelta(minutes=5))
    # inside the lookback: caught, and the five already-ingested rows are not repeated
    assert second.rows == 2
    log = read_table(LakePaths(settings.lake), "raw", "catalog")
    assert sorted(log["product_id"].to_pylist()) == [f"p{i:04d}" for i in range(7)]
    assert second.watermark_after == watermark


def test_equal_timestamps_with_zero_lookback(settings: Settings, postgres_url: str, pg_table: str) -> None:
    same = _catalog(range(3), T0).set_column(
        12, "updated_at", pa.array([T0] * 3, CATALOG.schema.field("updated_at").type)
    )
    load_catalog_to_postgres(same, postgres_url, pg_table)
    assert _ingest(settings, postgres_url, pg_table, lookback=dt.timedelta(0)).rows == 3
    late = _catalog(range(3, 4), T0)
    load_catalog_to_postgres(late, postgres_url, pg_table)
    second = _ingest(settings, postgres_url, pg_table, lookback=dt.timedelta(0))
    assert second.rows == 1
    assert read_table(LakePaths(settings.lake), "raw", "catalog").num_rows == 4


def test_failed_write_leaves_the_watermark_and_a_rerun_replaces_partial_files(
    settings: Settings, postgres_url: str, pg_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = LakePaths(settings.lake)
    load_catalog_to_postgres(_catalog(range(10), T0), postgres_url, pg_table)
    _ingest(settings, postgres_url, pg_table)
    state = read_json(state_url(lake, pg_table))
    load_catalog_to_postgres(_catalog(range(10, 20), T0 + dt.timedelta(days=1)), postgres_url, pg_table)

    real_write = ingest.write_table
    calls = 0

    def fail_second_chunk(*args: Any, **kwargs: Any) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("lake unavailable")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(ingest, "write_table", fail_second_chunk)
    with pytest.raises(OSError, match="lake unavailable"):
        _ingest(settings, postgres_url, pg_table, chunk_rows=4)
    monkeypatch.undo()
    assert read_json(state_url(lake, pg_table)) == state

    retry = _ingest(settings, postgres_url, pg_table, chunk_rows=4)
    assert retry.rows == 10
    log = read_table(lake, "raw", "catalog")
    assert log.num_rows == 20  # the first attempt's chunk was replaced, not duplicated
    assert _latest_per_product(log).equals(_pg_catalog(postgres_url, pg_table))


def test_clear_errors_for_missing_table_and_unreachable_server(
    settings: Settings, postgres_url: str, pg_table: str
) -> None:
    with pytest.raises(SourceError, match=f"table '{pg_table}' does not exist"):
        _ingest(settings, postgres_url, pg_table)
    with psycopg.connect(postgres_url) as connection:
        connection.execute(f'CREATE TABLE "{pg_table}" (product_id text, updated_at timestamptz)')
    with pytest.raises(SourceError, match="lacks the columns title, description"):
        _ingest(settings, postgres_url, pg_table)
    with pytest.raises(SourceError, match=r"cannot connect to PostgreSQL at 127\.0\.0\.1:1/test") as error:
        _ingest(settings, "postgresql://someone:secret@127.0.0.1:1/test", pg_table)
    assert "secret" not in str(error.value)
    assert "\n" not in str(error.value)
    assert read_json(state_url(LakePaths(settings.lake), pg_table)) is None


def test_cli_ingests_once_and_then_finds_nothing(
    settings: Settings, postgres_url: str, pg_table: str
) -> None:
    load_catalog_to_postgres(_catalog(range(12), T0), postgres_url, pg_table)
    home = str(settings.home)
    arguments = ["data", "ingest", "catalog", "--from", postgres_url, "--table", pg_table, "--home", home]
    runner = CliRunner()
    first = runner.invoke(app, arguments)
    assert first.exit_code == 0, first.output
    assert "12" in first.output
    assert read_table(LakePaths(settings.lake), "raw", "catalog").num_rows == 12
    second = runner.invoke(app, arguments)
    assert second.exit_code == 0, second.output
    assert "unchanged" in second.output
    assert read_table(LakePaths(settings.lake), "raw", "catalog").num_rows == 12


def test_instants_survive_a_non_utc_database_session(
    settings: Settings, postgres_url: str, pg_table: str
) -> None:
    """psycopg hands back datetimes in the session's zone; the lake must hold the same instants."""
    load_catalog_to_postgres(_catalog(range(5), T0), postgres_url, pg_table)
    lima_url = f"{postgres_url}?options=-c%20TimeZone%3DAmerica/Lima"
    _ingest(settings, lima_url, pg_table)
    lake_catalog = read_table(LakePaths(settings.lake), "raw", "catalog").sort_by("product_id")
    assert lake_catalog["updated_at"].equals(_catalog(range(5), T0).sort_by("product_id")["updated_at"])


def test_a_deleted_raw_catalog_is_ingested_again_in_full(
    settings: Settings, postgres_url: str, pg_table: str
) -> None:
    """The watermark describes raw/catalog: once that is gone (a regenerated lake), start over."""
    lake = LakePaths(settings.lake)
    load_catalog_to_postgres(_catalog(range(12), T0), postgres_url, pg_table)
    assert _ingest(settings, postgres_url, pg_table).rows == 12
    remove_table(lake, "raw", "catalog")
    again = _ingest(settings, postgres_url, pg_table)
    assert again.rows == 12
    assert again.watermark_before is None
    assert read_table(lake, "raw", "catalog").num_rows == 12
