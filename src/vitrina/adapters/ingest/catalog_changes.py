"""The product catalog from PostgreSQL, read incrementally by ``updated_at`` (docs/spec.md §1).

:func:`ingest_catalog_from_postgres` brings the rows changed since the last run into
``raw/catalog/`` as a **change log**: every version of a product that was read is kept; the
newest ``updated_at`` per ``product_id`` is the current product (the contracts collapse it when
validating). The other direction, a catalog put into PostgreSQL, is ``catalog_to_postgres``.

Watermark scheme (why it neither loses nor repeats a row):

``updated_at`` is usually set by the writer's clock (often ``now()``, the *start* of its
transaction), so a row can become visible after rows with later timestamps were already
read: a plain ``updated_at > watermark`` would skip it forever. Each run therefore re-reads a
``lookback`` window below the watermark (``updated_at >= watermark - lookback``) and drops
the (product_id, updated_at) pairs it has already ingested, which the state keeps for that
window. With ``lookback = 0`` this is "``>=`` plus de-duplication of the rows at the
watermark"; the default of ten minutes also absorbs transactions that commit up to ten
minutes after stamping their rows. Two limits are inherent to timestamp-based change
capture and documented rather than hidden: a change that keeps the same ``updated_at`` is
invisible, and deletions are not seen (use a flag such as ``is_reported`` or a soft delete).

The state lives in ``<lake>/state/ingest/catalog/<table>.json`` and is written atomically
only after every file of the run is in place, so a failed run leaves it untouched and the
next run reads the same rows again into the same file names (``part`` is derived from the
watermark the run started from), replacing rather than duplicating. Rows with a NULL
``updated_at`` cannot be ordered by the watermark; they are counted and reported, never
silently read or dropped. One ingestion per table and home at a time: two started from the same
watermark would write the same file names, and the one that read fewer rows could replace the
other's file after its state moved the watermark past them. An ``flock`` on
``<home>/.catalog-<table>.lock`` makes the second wait (a scheduled task beside ``train all``)
and then start from the watermark the first left.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql
from rich.table import Table

from vitrina.adapters.ingest.postgres import (
    SourceError,
    connect,
    describe,
    pg_type,
    require_columns,
    table_identifier,
)
from vitrina.adapters.lake.io import list_parquet_files, write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.files import read_json, write_json_atomic
from vitrina.core.tables import CATALOG

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_LOOKBACK",
    "IngestResult",
    "SourceError",
    "ingest_catalog_from_postgres",
    "lock_path",
    "state_url",
]

DEFAULT_CHUNK_ROWS = 50_000
DEFAULT_LOOKBACK = dt.timedelta(minutes=10)
STATE_VERSION = 1
_COLUMNS = CATALOG.schema.names
_UPDATED = _COLUMNS.index("updated_at")
_KEY = _COLUMNS.index("product_id")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Pair = tuple[str, int]
"""(product_id, updated_at in microseconds since the epoch): one version of a product."""


def _micros(value: dt.datetime) -> int:
    return (value - _EPOCH) // dt.timedelta(microseconds=1)


def _from_micros(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=value)


# -- PostgreSQL → lake -----------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    """What one ingestion run did. ``rows`` counts new product versions written."""

    source: str
    table: str
    rows: int
    watermark_before: dt.datetime | None
    watermark_after: dt.datetime | None
    files: tuple[str, ...] = ()
    rows_without_updated_at: int = 0

    def render(self) -> Table:
        """A two-column summary for the console."""
        view = Table(title=f"catalog ingestion from {self.source} / {self.table}", title_justify="left")
        view.add_column("", style="bold")
        view.add_column("")
        view.add_row("new or changed products", f"{self.rows:,}")
        view.add_row("files written", f"{len(self.files)}")
        before = self.watermark_before.isoformat() if self.watermark_before else "— (first run)"
        after = self.watermark_after.isoformat() if self.watermark_after else "—"
        view.add_row("watermark before", before)
        view.add_row(
            "watermark after", after if self.watermark_after != self.watermark_before else "unchanged"
        )
        if self.rows_without_updated_at:
            view.add_row(
                "[yellow]skipped[/]",
                f"[yellow]{self.rows_without_updated_at:,} rows with NULL updated_at cannot be "
                "ingested incrementally[/]",
            )
        return view


@dataclass
class _State:
    """The persisted watermark. ``seen`` holds every ingested pair with updated_at >= seen_from."""

    watermark: dt.datetime | None = None
    seen_from: dt.datetime | None = None
    seen: set[Pair] = field(default_factory=set)
    rows_total: int = 0

    @classmethod
    def load(cls, url: str) -> _State:
        payload = read_json(url)
        if payload is None:
            return cls()
        try:
            return cls(
                watermark=dt.datetime.fromisoformat(payload["watermark"]),
                seen_from=dt.datetime.fromisoformat(payload["seen_from"]),
                seen={(str(pid), int(micros)) for pid, micros in payload["seen"]},
                rows_total=int(payload["rows_total"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"the ingestion state {url} is unreadable ({error!r}); delete it to ingest everything again"
            ) from error

    def to_json(self, source: str, table: str) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "source": source,
            "table": table,
            "watermark": None if self.watermark is None else self.watermark.isoformat(),
            "seen_from": None if self.seen_from is None else self.seen_from.isoformat(),
            "seen": sorted([pid, micros] for pid, micros in self.seen),
            "rows_total": self.rows_total,
            "saved_at": dt.datetime.now(dt.UTC).isoformat(),
        }

    def lower_bound(self, lookback: dt.timedelta) -> dt.datetime | None:
        """Where the next scan starts: the lookback window, never below what ``seen`` covers."""
        if self.watermark is None or self.seen_from is None:
            return None
        return max(self.watermark - lookback, self.seen_from)

    def advanced(self, read: Iterable[Pair], lookback: dt.timedelta, rows: int) -> _State:
        """The state after ingesting ``read`` (every new pair of this run)."""
        pairs = self.seen | set(read)
        newest = _from_micros(max(micros for _, micros in pairs))
        watermark = newest if self.watermark is None else max(newest, self.watermark)
        seen_from = watermark - lookback
        if self.seen_from is not None:
            seen_from = max(seen_from, self.seen_from)
        floor = _micros(seen_from)
        return _State(
            watermark=watermark,
            seen_from=seen_from,
            seen={pair for pair in pairs if pair[1] >= floor},
            rows_total=self.rows_total + rows,
        )


def state_url(lake: LakePaths, table: str) -> str:
    """Where the watermark of the source ``table`` is kept."""
    return f"{lake.layer('state')}/ingest/catalog/{table}.json"


def _part_prefix(watermark: dt.datetime | None) -> str:
    """File-name stem that is the same whenever a run starts from the same watermark."""
    return "initial" if watermark is None else "since-" + watermark.strftime("%Y%m%dT%H%M%S%fZ")


def _select(table: str, since: dt.datetime | None) -> tuple[sql.Composed, dict[str, Any]]:
    """The ordered scan; columns are cast to canonical types so user tables may use others."""
    columns = sql.SQL(", ").join(
        sql.SQL("{0}::{1} AS {0}").format(sql.Identifier(f.name), sql.SQL(pg_type(f.type)))
        for f in CATALOG.schema
    )
    where = sql.SQL("updated_at IS NOT NULL") if since is None else sql.SQL("updated_at >= %(since)s")
    query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY updated_at, product_id").format(
        columns, table_identifier(table), where
    )
    return query, {} if since is None else {"since": since}


def _to_arrow(rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    arrays = [pa.array([row[i] for row in rows], type=f.type) for i, f in enumerate(CATALOG.schema)]
    return pa.Table.from_arrays(arrays, schema=CATALOG.schema)


def lock_path(settings: Settings, table: str) -> Path:
    """The file whose ``flock`` serialises the ingestions of ``table`` into this home."""
    return settings.home / f".catalog-{re.sub(r'[^0-9A-Za-z_.-]', '_', table)}.lock"


@contextlib.contextmanager
def _one_at_a_time(settings: Settings, table: str) -> Iterator[None]:
    """Hold the home's lock for ingesting ``table`` (a fresh descriptor: threads and processes)."""
    path = lock_path(settings, table)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ingest_catalog_from_postgres(
    settings: Settings,
    *,
    url: str,
    table: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    lookback: dt.timedelta = DEFAULT_LOOKBACK,
    ingestion_day: dt.date | None = None,
) -> IngestResult:
    """Read the products changed since the last run into ``raw/catalog/`` (see module docs).

    Streams the source with a server-side cursor, ``chunk_rows`` rows per Parquet file, all
    in the ``dt=`` partition of ``ingestion_day`` (default today, UTC). Returns what was
    read and the watermark before and after. A run with nothing new writes nothing.

    Raises :class:`SourceError` (one sentence) when the server is unreachable or the table
    is missing or lacks canonical columns; any failure leaves the watermark unchanged.
    """
    if chunk_rows <= 0 or lookback < dt.timedelta(0):
        raise ValueError(f"chunk_rows must be positive and lookback >= 0, got {chunk_rows}, {lookback}")
    with _one_at_a_time(settings, table):
        return _ingest(settings, url, table, chunk_rows, lookback, ingestion_day)


def _ingest(
    settings: Settings,
    url: str,
    table: str,
    chunk_rows: int,
    lookback: dt.timedelta,
    ingestion_day: dt.date | None,
) -> IngestResult:
    """:func:`ingest_catalog_from_postgres` under its lock."""
    lake = LakePaths(settings.lake)
    where_state = state_url(lake, table)
    state = _State.load(where_state)
    if state.watermark is not None and not list_parquet_files(lake, "raw", "catalog"):
        # the watermark describes what raw/catalog holds; with raw/catalog gone (a regenerated
        # or deleted lake) it would hide every product, so ingest everything again
        state = _State()
    since = state.lower_bound(lookback)
    day = ingestion_day or dt.datetime.now(dt.UTC).date()
    prefix = _part_prefix(state.watermark)
    source = describe(url)
    files: list[str] = []
    new_pairs: list[Pair] = []
    with connect(url) as connection:
        try:
            require_columns(connection, table, _COLUMNS, url)
            null_row = connection.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE updated_at IS NULL").format(table_identifier(table))
            ).fetchone()
            query, params = _select(table, since)
            with connection.cursor(name=f"vitrina_catalog_{uuid.uuid4().hex[:8]}") as cursor:
                cursor.itersize = chunk_rows
                cursor.execute(query, params)
                while rows := cursor.fetchmany(chunk_rows):
                    pairs = [(row[_KEY], _micros(row[_UPDATED])) for row in rows]
                    fresh = [i for i, pair in enumerate(pairs) if pair not in state.seen]
                    if not fresh:
                        continue
                    chunk = _to_arrow([rows[i] for i in fresh])
                    part = f"{prefix}-{len(files):05d}"
                    files += write_table(lake, "raw", "catalog", chunk, None, snapshot_day=day, part=part)
                    new_pairs += [pairs[i] for i in fresh]
        except psycopg.Error as error:
            raise SourceError(
                f"could not read {table!r} at {source}: {str(error).strip().splitlines()[0]}"
            ) from error
    nulls = int(null_row[0]) if null_row else 0
    if not new_pairs:
        return IngestResult(source, table, 0, state.watermark, state.watermark, (), nulls)
    after = state.advanced(new_pairs, lookback, len(new_pairs))
    write_json_atomic(after.to_json(source, table), where_state)
    return IngestResult(source, table, len(new_pairs), state.watermark, after.watermark, tuple(files), nulls)
