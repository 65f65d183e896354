"""A mapping source that is a PostgreSQL query, against the real server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vitrina.adapters.ingest.mapping import MappingError
from vitrina.config import Settings
from vitrina.pipelines.import_tables import import_mapping

pytestmark = pytest.mark.integration

MAPPING = """\
name: shop-db
sources:
  products:
    format: postgres
    url: ${SHOP_DB_URL}
    query: SELECT sku, title, price, added FROM "{table}" ORDER BY sku
tables:
  catalog:
    from: products
    columns:
      product_id: sku
      title: title
      category_l1: {constant: kitchen}
      category_l2: {constant: kitchen}
      category_l3: {constant: kitchen}
      price: price
      stock: 1
      seller_id: {constant: shop}
      created_at: added
      updated_at: added
      is_sponsored: false
      is_reported: false
"""


def _catalog(settings: Settings) -> pa.Table:
    files = sorted((Path(settings.lake) / "raw" / "catalog").rglob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files])


def test_a_query_is_read_into_the_canonical_table(
    tmp_path: Path, settings: Settings, postgres_url: str, pg_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(
            f'CREATE TABLE "{pg_table}" (sku text, title text, price numeric(10, 2), added timestamptz)'
        )
        connection.execute(
            f"INSERT INTO \"{pg_table}\" VALUES ('P1', 'Taza', 2.50, '2024-03-01 10:00+01'), "
            "('P2', 'Plato ñandú', 3.00, '2024-03-02 00:00+00')"
        )
    monkeypatch.setenv("SHOP_DB_URL", postgres_url)
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING.replace("{table}", pg_table), encoding="utf-8")
    result = import_mapping(settings, path)
    assert result.table("catalog").counts.written == 2
    assert result.sources[0].origin[0].endswith("/test")  # host:port/db, never the password
    rows = _catalog(settings).sort_by("product_id").to_pylist()
    assert [(r["product_id"], r["title"], r["price"]) for r in rows] == [
        ("P1", "Taza", 2.5),
        ("P2", "Plato ñandú", 3.0),
    ]
    assert rows[0]["created_at"] == dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC)
    assert not import_mapping(settings, path).changed  # the same rows: nothing rewritten


def test_a_failing_query_names_its_line_and_writes_nothing(
    tmp_path: Path, settings: Settings, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_DB_URL", postgres_url)
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING.replace("{table}", "no_such_table_here"), encoding="utf-8")
    with pytest.raises(
        MappingError, match=r"mapping.yaml:6: sources.products.query failed on .*no_such_table_here"
    ):
        import_mapping(settings, path)
    assert not (Path(settings.lake) / "raw").exists()


def test_an_unreachable_server_names_the_url_line(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_DB_URL", "postgresql://nobody:secret@127.0.0.1:1/shop")
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING.replace("{table}", "t"), encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        import_mapping(settings, path)
    assert caught.value.line == 5
    assert "127.0.0.1:1/shop" in str(caught.value)
    assert "secret" not in str(caught.value)
