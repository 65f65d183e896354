"""Read a mapping's sources into DuckDB tables, one per source, in the order of their files.

Files are read by DuckDB itself (CSV with its options, Parquet, JSON lines; a glob is expanded
here, sorted, so row order — which "the first of duplicates" depends on — is the same on every
run). Several CSV files are matched by their header's names; with ``union_by_name`` a column
missing from one file is null there (without it, DuckDB refuses the files, and sniffs them once
instead of once per file: seconds for hundreds of day files). Parquet and JSON lines are always
read by name. A PostgreSQL query is read with psycopg into
Arrow and registered (DuckDB's own postgres extension would need a download; an import must work
offline), in a read-only transaction.

Encodings DuckDB reads natively (UTF-8 with or without a byte-order mark, UTF-16, Latin-1) are
read in place; any other encoding Python knows (``cp1252``, ``mac_roman``…) is first converted
to UTF-8 into a scratch folder the caller owns.

Every failure is a :class:`MappingError` on the line of the source (or of the key at fault).
"""

from __future__ import annotations

import codecs
import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow as pa

from vitrina.adapters.ingest.duck_sql import ident, literal, short_error
from vitrina.adapters.ingest.mapping import LoadedMapping, MappingLines
from vitrina.adapters.ingest.mapping_model import (
    CsvSource,
    FileSource,
    JsonLinesSource,
    ParquetSource,
    PostgresSource,
)
from vitrina.adapters.ingest.postgres import SourceError, connect, describe

NATIVE_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16", "iso8859-1": "latin-1"}
"""Python's codec name → DuckDB's, for encodings DuckDB reads without an extension."""
_MISSING_TYPES = re.compile(r"Columns with names: (.+?) do not exist")
_PG_TYPES = {
    "bool": pa.bool_(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "numeric": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True)
class SourceRead:
    """What one source gave: its rows, and the files (relative to the root) or the server."""

    name: str
    rows: int
    origin: tuple[str, ...]
    columns: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "origin": list(self.origin),
            "columns": list(self.columns),
        }


def _files(source: FileSource, root: Path, path: tuple[str, ...], lines: MappingLines) -> list[Path]:
    pattern = root / source.path
    if glob.has_magic(source.path):
        found = sorted(Path(p) for p in glob.glob(str(pattern), recursive=True) if Path(p).is_file())
        if not found:
            raise lines.error(
                (*path, "path"), f"sources.{path[1]}.path: no file matches {source.path!r} under {root}"
            )
        return found
    if not pattern.is_file():
        raise lines.error((*path, "path"), f"sources.{path[1]}.path: no such file: {pattern}")
    return [pattern]


def _transcode(files: list[Path], encoding: str, scratch: Path, name: str) -> list[Path]:
    """UTF-8 copies of ``files`` (read as ``encoding``) in ``scratch``, for DuckDB."""
    copies = []
    for index, file in enumerate(files):
        copy = scratch / f"{name}-{index:05d}.csv"
        copy.write_text(file.read_text(encoding=encoding), encoding="utf-8")
        copies.append(copy)
    return copies


def _csv_call(source: CsvSource, files: list[Path], encoding: str) -> str:
    options = [f"header = {literal(source.header)}", f"encoding = {literal(encoding)}", "filename = false"]
    if source.delimiter is not None:
        options.append(f"delim = {literal(source.delimiter)}")
    if source.quote is not None:
        options.append(f"quote = {literal(source.quote)}")
    if source.decimal != ".":
        options.append(f"decimal_separator = {literal(source.decimal)}")
    if source.null:
        options.append(f"nullstr = [{', '.join(literal(v) for v in source.null)}]")
    if source.skip_rows:
        options.append(f"skip = {source.skip_rows}")
    if source.types:
        pairs = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in source.types.items())
        options.append(f"types = {{{pairs}}}")
    if source.union_by_name:
        options.append("union_by_name = true")
    listed = ", ".join(literal(str(f)) for f in files)
    return f"read_csv([{listed}], {', '.join(options)})"


def _file_call(source: FileSource, files: list[Path], scratch: Path, name: str, where: Any) -> str:
    listed = ", ".join(literal(str(f)) for f in files)
    if isinstance(source, ParquetSource):
        return f"read_parquet([{listed}], union_by_name = true)"
    if isinstance(source, JsonLinesSource):
        return f"read_json([{listed}], format = 'newline_delimited', union_by_name = true)"
    try:
        codec = codecs.lookup(source.encoding).name
    except LookupError:
        raise where("encoding", f"unknown encoding {source.encoding!r}") from None
    if codec in NATIVE_ENCODINGS:
        return _csv_call(source, files, NATIVE_ENCODINGS[codec])
    try:
        copies = _transcode(files, codec, scratch, name)
    except UnicodeDecodeError as error:
        raise where("encoding", f"the files are not {source.encoding}: {error}") from None
    return _csv_call(source, copies, "utf-8")


def _read_file_source(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    source: FileSource,
    loaded: LoadedMapping,
    scratch: Path,
) -> tuple[str, ...]:
    path = ("sources", name)
    lines = loaded.lines

    def where(key: str, detail: str) -> Exception:
        return lines.error((*path, key), f"sources.{name}.{key}: {detail}")

    files = _files(source, loaded.root, path, lines)
    call = _file_call(source, files, scratch, name, where)
    try:
        connection.execute(f"CREATE TABLE {ident(name)} AS SELECT * FROM {call}")
    except duckdb.Error as error:
        missing = _MISSING_TYPES.search(str(error))
        if missing and isinstance(source, CsvSource):
            names = re.findall(r'"([^"]+)"', missing.group(1))
            key = next((k for k in source.types if k in names), None)
            if key is not None:
                raise lines.error(
                    (*path, "types", key), f"sources.{name}.types: the files have no column {key!r}"
                ) from None
        if isinstance(error, duckdb.CatalogException) and isinstance(source, CsvSource) and source.types:
            raise where("types", short_error(error)) from None
        raise where("path", f"cannot read {source.path!r}: {short_error(error)}") from None
    return tuple(str(f.relative_to(loaded.root)) if f.is_relative_to(loaded.root) else str(f) for f in files)


def _column(values: list[Any], type_name: str | None) -> pa.Array:
    if all(v is None for v in values):
        return pa.nulls(len(values), _PG_TYPES.get(type_name or "", pa.string()))
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed or exotic values: keep their text
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _read_postgres(
    connection: duckdb.DuckDBPyConnection, name: str, source: PostgresSource, lines: MappingLines
) -> tuple[str, ...]:
    path = ("sources", name)
    try:
        with connect(source.url) as pg:
            pg.execute("SET TRANSACTION READ ONLY")  # an import never writes to a shop's database
            with pg.cursor() as cursor:
                cursor.execute(source.query)
                description = cursor.description or []
                rows = cursor.fetchall()
                names = [column.name for column in description]
                types = []
                for column in description:
                    info = pg.adapters.types.get(column.type_code)
                    types.append(info.name if info is not None else None)
    except SourceError as error:
        raise lines.error((*path, "url"), f"sources.{name}: {error}") from None
    except psycopg.Error as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise lines.error(
            (*path, "query"), f"sources.{name}.query failed on {describe(source.url)}: {first}"
        ) from None
    if len(set(names)) != len(names):
        raise lines.error((*path, "query"), f"sources.{name}.query returns two columns with one name")
    arrays = [_column([row[i] for row in rows], types[i]) for i in range(len(names))]
    table = pa.Table.from_arrays(arrays, names=names)
    view = f"__vitrina_pg_{name}"
    connection.register(view, table)
    try:
        connection.execute(f"CREATE TABLE {ident(name)} AS SELECT * FROM {ident(view)}")
    finally:
        connection.unregister(view)
    return (describe(source.url),)


def read_sources(
    connection: duckdb.DuckDBPyConnection, loaded: LoadedMapping, scratch: Path
) -> dict[str, SourceRead]:
    """Create one DuckDB table per source of ``loaded``, named as the source."""
    read: dict[str, SourceRead] = {}
    for name, source in loaded.mapping.sources.items():
        if isinstance(source, PostgresSource):
            origin = _read_postgres(connection, name, source, loaded.lines)
        else:
            origin = _read_file_source(connection, name, source, loaded, scratch)
        rows = connection.execute(f"SELECT count(*) FROM {ident(name)}").fetchone()
        columns = tuple(c[0] for c in connection.execute(f"DESCRIBE {ident(name)}").fetchall())
        read[name] = SourceRead(name, int(rows[0]) if rows else 0, origin, columns)
    return read
