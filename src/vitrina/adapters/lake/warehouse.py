"""A DuckDB warehouse over the lake: one SQL view per canonical table.

``Warehouse`` opens a DuckDB connection and defines, for each table of
:data:`vitrina.core.tables.TABLES`, a view named after it::

    CREATE VIEW events AS SELECT * FROM read_parquet('<lake>/validated/events/dt=*/[!._]*.parquet',
                                                     union_by_name = true, hive_partitioning = false)

so features, evaluation and ad-hoc analysis query the lake with plain SQL and never copy it.

Why these choices:

* ``union_by_name`` lets files written before a column was added sit beside newer ones
  (missing columns read as NULL) instead of failing the whole query.
* ``hive_partitioning = false`` keeps each view's columns equal to the canonical schema:
  the ``dt=`` folder is a storage detail and the date is already in the data
  (``lake.io.read_table`` makes the same choice).
* A table with no file yet gets an *empty* view with the canonical column types, so a query
  on a fresh lake returns zero rows instead of DuckDB's "No files found" error. Views over a
  glob of a local lake see files added later by themselves; a table that was empty when the
  view was made, or any table of a remote lake (below), needs :meth:`Warehouse.refresh`
  (cheap: one listing per table).
* The session time zone is UTC, so ``TIMESTAMP WITH TIME ZONE`` columns come back as
  ``timestamp[us, tz=UTC]`` exactly like the canonical schema, whatever the machine's zone.

Remote lakes: for any non-local fsspec URL (``s3://``, ``gs://``, ``memory://`` …) the
lake's fsspec filesystem is registered with the connection (``register_filesystem``), so
DuckDB reads through the same credentials and configuration as the rest of vitrina. That
filesystem is the warehouse's own instance, with fsspec's listings cache on until the next
:meth:`Warehouse.refresh`: every query expands its views' globs again, which on an object
store costs a LIST per partition and a HEAD per file opened (thousands of requests for a
feature build over a few weeks of daily partitions), while the listing it would get back is
the one of the last refresh as long as no other writer adds files. On a remote lake the views
therefore see the files of the last refresh (call it again to see files written since); a
warehouse lives as long as one step's reads, and the lake's other readers and writers keep
opening the filesystem without the cache (:func:`vitrina.core.artifacts.files.filesystem`). For S3
at scale DuckDB's own ``httpfs`` extension is faster: load it on :attr:`Warehouse.connection`
(``INSTALL httpfs; LOAD httpfs; CREATE SECRET (TYPE s3, PROVIDER credential_chain)``) and
pass ``register_fsspec=False`` so DuckDB handles ``s3://`` natively.

A file database (``database=...``) keeps views between sessions; DuckDB allows one writing
process per file, so pipelines that run concurrently should each use the default in-memory
database (views are metadata only: nothing is copied either way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import duckdb
import fsspec
import pyarrow as pa
from fsspec.core import url_to_fs

from vitrina.adapters.lake.paths import LakePaths
from vitrina.core.artifacts.files import filesystem
from vitrina.core.tables import TABLES, TableSpec

if TYPE_CHECKING:
    import pandas as pd

    from vitrina.config import Settings

WarehouseLayer = Literal["raw", "validated"]
"""Layers holding canonical tables; other layers (quarantine, features) have other columns."""

WAREHOUSE_LAYERS: tuple[WarehouseLayer, ...] = ("raw", "validated")
DEFAULT_DATABASE_NAME = "warehouse.duckdb"


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _is_local(url: str) -> bool:
    fs, _ = filesystem(url)
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    return bool({"file", "local"} & set(protocols))


def empty_view_sql(connection: duckdb.DuckDBPyConnection, schema: pa.Schema) -> str:
    """A ``SELECT`` returning zero rows with ``schema``'s columns and types.

    Types are translated by DuckDB itself (from an empty Arrow table), so this stays right
    for any Arrow type DuckDB understands; the view holds no reference to Python objects
    and therefore survives in a file database.
    """
    types = connection.from_arrow(schema.empty_table()).types
    columns = ", ".join(
        f"CAST(NULL AS {duck_type}) AS {_quote_identifier(field.name)}"
        for field, duck_type in zip(schema, types, strict=True)
    )
    return f"SELECT {columns} WHERE false"


class Warehouse:
    """DuckDB views over one layer of the lake, one per canonical table.

    Args:
        lake: lake root (local path or fsspec URL) or its :class:`LakePaths`.
        layer: ``"validated"`` (default: what models may consume) or ``"raw"``.
        database: ``":memory:"`` (default) or a DuckDB file path, e.g.
            ``$VITRINA_HOME/warehouse.duckdb`` (see :meth:`from_settings`).
        tables: the table specs to expose (default: every canonical table).
        register_fsspec: register the lake's fsspec filesystem with DuckDB for non-local
            lakes (see the module docstring for the ``httpfs`` alternative).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        lake: str | LakePaths,
        *,
        layer: WarehouseLayer = "validated",
        database: str | Path = ":memory:",
        tables: Mapping[str, TableSpec] = TABLES,
        register_fsspec: bool = True,
    ) -> None:
        if layer not in WAREHOUSE_LAYERS:
            raise ValueError(
                f"the warehouse reads canonical tables from {' or '.join(WAREHOUSE_LAYERS)}, not {layer!r}"
            )
        self.lake = lake if isinstance(lake, LakePaths) else LakePaths(lake)
        self.layer: WarehouseLayer = layer
        self.tables = dict(tables)
        if isinstance(database, Path) or database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        self._connection = duckdb.connect(str(database))
        self._connection.execute("SET TimeZone = 'UTC'")
        self._remote: fsspec.AbstractFileSystem | None = None
        if not _is_local(self.lake.root):
            self._remote = url_to_fs(self.lake.root, use_listings_cache=True, skip_instance_cache=True)[0]
            if register_fsspec:
                self._connection.register_filesystem(self._remote)
        self._present: frozenset[str] = frozenset()
        self.refresh()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, layer: WarehouseLayer = "validated", persistent: bool = False
    ) -> Warehouse:
        """A warehouse over ``settings.lake``; ``persistent`` keeps it in ``$VITRINA_HOME``."""
        database: str | Path = settings.home / DEFAULT_DATABASE_NAME if persistent else ":memory:"
        return cls(settings.lake, layer=layer, database=database)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The underlying DuckDB connection (for extensions, UDFs, relational API)."""
        return self._connection

    @property
    def present(self) -> frozenset[str]:
        """Tables that had at least one Parquet file at the last :meth:`refresh`."""
        return self._present

    def glob(self, table: str) -> str:
        """The Parquet glob a table's view reads: visible files of the ``dt=`` partitions.

        Stricter than :meth:`LakePaths.glob` (``**/*.parquet``) on purpose: it skips hidden
        files and folders (``.x``, ``_x``) exactly as ``lake.io`` readers do, so a Spark
        ``_temporary/`` folder or a half-copied ``_staging`` file is never read as data.
        """
        return self.lake.glob(self.layer, table)

    def _has_files(self, table: str) -> bool:
        # the same glob DuckDB will expand, so "present" never disagrees with the view
        fs, pattern = filesystem(self.glob(table))
        if self._remote is not None:
            fs = self._remote  # the listing DuckDB's next query reads from the cache
        return bool(fs.glob(pattern))

    def refresh(self) -> frozenset[str]:
        """(Re)define every view from what is in the lake now; returns the tables with data."""
        if self._remote is not None:
            self._remote.invalidate_cache()
            self._remote.dircache.clear()  # not every filesystem's invalidate_cache clears it
        present: set[str] = set()
        for name, spec in self.tables.items():
            if self._has_files(name):
                present.add(name)
                source = (
                    f"SELECT * FROM read_parquet({_quote_literal(self.glob(name))}, "
                    "union_by_name = true, hive_partitioning = false)"
                )
            else:
                source = empty_view_sql(self._connection, spec.schema)
            self._connection.execute(f"CREATE OR REPLACE VIEW {_quote_identifier(name)} AS {source}")
        self._present = frozenset(present)
        return self._present

    def sql(self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pa.Table:
        """Run ``query`` (``?`` or ``$name`` parameters) and return its rows as Arrow.

        A statement that returns no relation (``CREATE TABLE``, ``SET`` …) gives an empty table.
        """
        relation = self._connection.sql(query, params=params)
        return pa.table({}) if relation is None else relation.to_arrow_table()

    def df(self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run ``query`` and return a pandas DataFrame (timestamps stay UTC-aware)."""
        import pandas as pd

        relation = self._connection.sql(query, params=params)
        frame: pd.DataFrame = pd.DataFrame() if relation is None else relation.df()
        return frame

    def read(self, table: str) -> pa.Table:
        """A whole canonical table, cast to its canonical schema (column order and types)."""
        if table not in self.tables:
            raise KeyError(f"unknown table {table!r}; the warehouse has {sorted(self.tables)}")
        schema = self.tables[table].schema
        columns = ", ".join(_quote_identifier(name) for name in schema.names)
        return self.sql(f"SELECT {columns} FROM {_quote_identifier(table)}").cast(schema)

    def close(self) -> None:
        """Close the connection; the lake is untouched."""
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Warehouse(lake={self.lake.root!r}, layer={self.layer!r}, present={sorted(self._present)})"
