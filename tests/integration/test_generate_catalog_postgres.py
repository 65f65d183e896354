"""``generate --catalog-to`` puts the catalog in PostgreSQL instead of raw/catalog."""

from __future__ import annotations

import datetime as dt

import pytest

from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.simulator.generate import generate_marketplace

pytestmark = [pytest.mark.integration]


def test_catalog_goes_to_postgres(settings: Settings, postgres_url: str, pg_table: str) -> None:
    pytest.importorskip("vitrina.adapters.ingest.catalog_changes")
    import psycopg

    settings = settings.model_copy(update={"catalog_table": pg_table})
    summary = generate_marketplace(
        settings, scale="ci", seed=5, drift=None, end_date=dt.date(2025, 3, 31), catalog_to=postgres_url
    )
    lake = LakePaths(settings.lake)
    assert list_parquet_files(lake, "raw", "catalog") == []
    assert list_parquet_files(lake, "raw", "events")
    assert pg_table in summary.catalog_destination
    with psycopg.connect(postgres_url) as conn:
        count, ids, cheapest = conn.execute(
            f'SELECT count(*), count(DISTINCT product_id), min(price) FROM "{pg_table}"'
        ).fetchone()  # type: ignore[misc]
    assert count == ids == summary.counts["catalog"] == 2_000
    assert cheapest > 0
