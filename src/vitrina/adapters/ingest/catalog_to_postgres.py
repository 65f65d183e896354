"""A canonical catalog put into a PostgreSQL table, upserted by ``product_id``.

The simulator's stand-in for a shop's operational database, and the way a benchmark or test
gives :mod:`vitrina.adapters.ingest.catalog_changes` a source to read incrementally: the table
has the canonical columns, ``product_id`` as primary key and an index on
``(updated_at, product_id)``, the order the watermark scan reads in.
"""

from __future__ import annotations

import uuid

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from vitrina.adapters.ingest.postgres import (
    SourceError,
    column_definitions,
    connect,
    copy_arrow,
    describe,
    require_columns,
    table_identifier,
)
from vitrina.core.tables import CATALOG

_COLUMNS = CATALOG.schema.names


def _conform(catalog: pa.Table) -> pa.Table:
    """``catalog`` with exactly the canonical columns and types, or a clear ValueError."""
    missing = [name for name in _COLUMNS if name not in catalog.column_names]
    if missing:
        raise ValueError(f"the catalog lacks the columns {', '.join(missing)}")
    try:
        return catalog.select(_COLUMNS).cast(CATALOG.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
        raise ValueError(f"the catalog's columns do not cast to the canonical types: {error}") from error


def _check_keys(catalog: pa.Table) -> None:
    """A keyed source table cannot hold these rows; refuse them instead of dropping any."""
    if catalog["product_id"].null_count:
        raise ValueError(f"{catalog['product_id'].null_count} catalog rows have no product_id")
    if catalog["updated_at"].null_count:
        raise ValueError(
            f"{catalog['updated_at'].null_count} catalog rows have no updated_at, "
            "so incremental ingestion could never read them"
        )
    distinct = pc.count_distinct(catalog["product_id"]).as_py()
    if distinct != catalog.num_rows:
        raise ValueError(
            f"{catalog.num_rows - distinct} catalog rows repeat a product_id; "
            "a source table holds one row per product"
        )


def _create_table(connection: psycopg.Connection, table: str) -> None:
    ident = table_identifier(table)
    connection.execute(
        sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY (product_id))").format(
            ident, column_definitions(CATALOG.schema, not_null=("product_id", "updated_at"))
        )
    )
    index = sql.Identifier(f"{table.rsplit('.', 1)[-1]}_updated_at_idx"[:63])
    # (updated_at, product_id) serves the watermark scan in the order it reads
    connection.execute(
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (updated_at, product_id)").format(index, ident)
    )


def load_catalog_to_postgres(catalog: pa.Table, url: str, table: str) -> int:
    """Create ``table`` if missing and upsert ``catalog`` into it by ``product_id``.

    Columns are those of :data:`vitrina.core.tables.CATALOG` (``product_id`` primary key,
    ``updated_at`` NOT NULL and indexed). Rows are COPYed into a temporary table and merged
    with ``INSERT … ON CONFLICT DO UPDATE`` in one transaction; a row identical to the stored
    one is left alone. Returns the number of rows inserted or changed.

    Raises ValueError for a catalog that a keyed table cannot hold (missing columns, null or
    repeated ``product_id``, null ``updated_at``) and :class:`SourceError` when PostgreSQL
    refuses (unreachable, no rights, an existing table with another shape).
    """
    data = _conform(catalog)
    _check_keys(data)
    ident = table_identifier(table)
    staging = sql.Identifier(f"vitrina_staging_{uuid.uuid4().hex[:12]}")
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in _COLUMNS)
    updatable = [name for name in _COLUMNS if name != "product_id"]
    assignments = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name)) for name in updatable
    )
    stored = sql.SQL(", ").join(sql.SQL("{}.{}").format(ident, sql.Identifier(n)) for n in updatable)
    incoming = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(n)) for n in updatable)
    with connect(url) as connection:
        try:
            _create_table(connection, table)
            require_columns(connection, table, _COLUMNS, url)
            connection.execute(
                sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
                    staging, column_definitions(CATALOG.schema)
                )
            )
            with connection.cursor() as cursor:
                copy_arrow(cursor, staging, data)
                cursor.execute(
                    sql.SQL(
                        "INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
                        "ON CONFLICT (product_id) DO UPDATE SET {assignments} "
                        "WHERE ({stored}) IS DISTINCT FROM ({incoming})"
                    ).format(
                        table=ident,
                        columns=columns,
                        staging=staging,
                        assignments=assignments,
                        stored=stored,
                        incoming=incoming,
                    )
                )
                return max(cursor.rowcount, 0)
        except psycopg.Error as error:
            raise SourceError(
                f"could not load the catalog into {table!r} at {describe(url)}: "
                f"{str(error).strip().splitlines()[0]}"
            ) from error
