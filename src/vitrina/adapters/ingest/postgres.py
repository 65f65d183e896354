"""PostgreSQL plumbing for ingestion: connections with readable errors, DDL from Arrow, COPY.

Kept apart from the catalog logic so other sources (users, a CDC feed) reuse it. Every
failure a person can fix (server down, wrong credentials, missing table or column) is
raised as :class:`SourceError` with one sentence that names the server but never the
password.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

CONNECT_TIMEOUT_SECONDS = 5
COPY_BATCH_ROWS = 20_000


class SourceError(RuntimeError):
    """A source cannot be read or written; ``str()`` is one sentence meant for people."""


def describe(url: str) -> str:
    """``host:port/dbname`` of a PostgreSQL URL, without user or password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable PostgreSQL URL>"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"{host}:{port}/{parts.get('dbname') or ''}"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


@contextmanager
def connect(url: str) -> Iterator[psycopg.Connection]:
    """A connection whose session time zone is UTC (timestamps come back as UTC instants).

    Connection failures become :class:`SourceError`; the connection is committed on a clean
    exit and rolled back on an exception (psycopg's context-manager semantics).
    """
    try:
        connection = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    except psycopg.Error as error:
        raise SourceError(f"cannot connect to PostgreSQL at {describe(url)}: {_first_line(error)}") from error
    with connection:
        connection.execute("SET TIME ZONE 'UTC'")
        yield connection


def table_identifier(table: str) -> sql.Identifier:
    """``name`` or ``schema.name`` as a quoted identifier (names are case-sensitive)."""
    parts = table.split(".")
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise SourceError(f"table name must be 'name' or 'schema.name', got {table!r}")
    return sql.Identifier(*parts)


def table_columns(connection: psycopg.Connection, table: str) -> list[str] | None:
    """Column names of ``table`` in order, or None when it does not exist."""
    parts = table.split(".")
    schema, name = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
    rows = connection.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = coalesce(%s, current_schema()) AND table_name = %s "
        "ORDER BY ordinal_position",
        (schema, name),
    ).fetchall()
    return [row[0] for row in rows] or None


def require_columns(connection: psycopg.Connection, table: str, columns: Sequence[str], url: str) -> None:
    """Raise :class:`SourceError` unless ``table`` exists with every one of ``columns``."""
    present = table_columns(connection, table)
    if present is None:
        raise SourceError(f"table {table!r} does not exist in PostgreSQL database {describe(url)}")
    missing = [column for column in columns if column not in present]
    if missing:
        raise SourceError(f"table {table!r} in {describe(url)} lacks the columns {', '.join(missing)}")


def pg_type(arrow_type: pa.DataType) -> str:
    """The PostgreSQL type that holds ``arrow_type`` without loss."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_int16(arrow_type) or pa.types.is_int8(arrow_type):
        return "smallint"
    if pa.types.is_int32(arrow_type):
        return "integer"
    if pa.types.is_int64(arrow_type):
        return "bigint"
    if pa.types.is_float32(arrow_type):
        return "real"
    if pa.types.is_float64(arrow_type):
        return "double precision"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    raise TypeError(f"no PostgreSQL type for Arrow type {arrow_type}")


def column_definitions(schema: pa.Schema, not_null: Sequence[str] = ()) -> sql.Composed:
    """``"col" type [NOT NULL], …`` for a ``CREATE TABLE`` from an Arrow schema."""
    return sql.SQL(", ").join(
        sql.SQL("{} {}{}").format(
            sql.Identifier(field.name),
            sql.SQL(pg_type(field.type)),
            sql.SQL(" NOT NULL" if field.name in not_null else ""),
        )
        for field in schema
    )


def copy_arrow(cursor: psycopg.Cursor, table: sql.Composable, data: pa.Table) -> None:
    """Stream ``data`` into ``table`` with ``COPY … FROM STDIN (FORMAT csv)``.

    Arrow's C++ CSV writer quotes every string and leaves nulls unquoted and empty, which is
    exactly how PostgreSQL's CSV format tells NULL from the empty string; this is an order of
    magnitude faster than sending rows from Python.
    """
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        table, sql.SQL(", ").join(sql.Identifier(name) for name in data.column_names)
    )
    options = pacsv.WriteOptions(include_header=False)
    with cursor.copy(statement) as copy:
        for batch in data.to_batches(max_chunksize=COPY_BATCH_ROWS):
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, write_options=options)
            copy.write(buffer.getvalue())
