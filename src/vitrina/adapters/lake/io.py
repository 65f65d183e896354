"""Lake tables over fsspec: partitioned Parquet writes, listings and reads.

Each file is written by :func:`vitrina.core.artifacts.files.write_parquet_atomic` (a hidden
temporary file in the target folder, then a rename), so a reader never sees a half-written
file. Readers skip hidden files and folders (names starting with ``.`` or ``_``), as Arrow
datasets do.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from vitrina.adapters.lake.paths import LakePaths, Layer
from vitrina.core.artifacts.files import filesystem, write_parquet_atomic


def _is_visible(name: str) -> bool:
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return not base.startswith((".", "_"))


def partition_days(
    table: pa.Table, date_column: str, default_day: dt.date | None = None
) -> Iterator[tuple[dt.date, pa.Table]]:
    """Split ``table`` by the UTC calendar day of ``date_column``, in day order.

    Rows without a date go to ``default_day`` (they are kept: raw input is never dropped);
    without a default they are an error.
    """
    if table.num_rows == 0:
        return
    days = pc.cast(pc.cast(table[date_column], pa.timestamp("us", tz="UTC")), pa.date32())
    if days.null_count:
        if default_day is None:
            raise ValueError(f"{days.null_count} rows have no {date_column} and no default day was given")
        days = pc.fill_null(days, pa.scalar(default_day, pa.date32()))
    # One stable sort, then a slice per day: filtering once per day costs days x rows, which is
    # minutes for a shop with years of history (thousands of days).
    order = pc.sort_indices(days)
    table, numbers = table.take(order), days.take(order).cast(pa.int32()).to_numpy()
    starts = np.flatnonzero(np.r_[True, numbers[1:] != numbers[:-1]])
    for start, end in zip(starts, [*starts[1:], len(numbers)], strict=True):
        yield dt.date(1970, 1, 1) + dt.timedelta(days=int(numbers[start])), table.slice(start, end - start)


def write_table(
    lake: LakePaths,
    layer: Layer,
    name: str,
    table: pa.Table,
    date_column: str | None,
    snapshot_day: dt.date | None = None,
    part: str | None = None,
) -> list[str]:
    """Write ``table`` under ``<layer>/<name>/dt=…/`` atomically, one file per day.

    Dated tables are split by ``date_column``; snapshots (catalog, users), and dated rows
    whose date is null, go to the partition of ``snapshot_day`` (default today, UTC).
    ``part`` names the file so a re-run replaces its own output instead of adding a copy.
    """
    part_name = f"part-{part or uuid.uuid4().hex[:12]}.parquet"
    written: list[str] = []
    fallback_day = snapshot_day or dt.datetime.now(dt.UTC).date()
    if date_column is None:
        path = f"{lake.partition(layer, name, fallback_day)}/{part_name}"
        written.append(write_parquet_atomic(table, path))
        return written
    for day, chunk in partition_days(table, date_column, default_day=fallback_day):
        written.append(write_parquet_atomic(chunk, f"{lake.partition(layer, name, day)}/{part_name}"))
    return written


def list_parquet_files(lake: LakePaths, layer: Layer, name: str) -> list[str]:
    """Every visible Parquet file of a table, sorted (partition order = time order)."""
    fs, path = filesystem(lake.table(layer, name))
    if not fs.exists(path):
        return []
    files = [f for f in fs.find(path) if f.endswith(".parquet") and _is_visible(f)]
    files = [f for f in files if all(_is_visible(seg) for seg in f[len(path) :].split("/") if seg)]
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    prefix = "" if protocol in ("file", "local") else f"{protocol}://"
    return sorted(f"{prefix}{f}" for f in files)


def read_table(lake: LakePaths, layer: Layer, name: str, schema: pa.Schema | None = None) -> pa.Table:
    """Read every partition of a table into one Arrow table (empty if none).

    The ``dt`` partition folder is not added as a column: the date is in the data.
    """
    files = list_parquet_files(lake, layer, name)
    if not files:
        if schema is None:
            raise FileNotFoundError(f"no Parquet files under {lake.table(layer, name)}")
        return schema.empty_table()
    fs, _ = filesystem(files[0])
    dataset = ds.dataset([filesystem(f)[1] for f in files], filesystem=fs, format="parquet", schema=schema)
    return dataset.to_table()


def remove_table(lake: LakePaths, layer: Layer, name: str) -> None:
    """Delete a table's folder (used before regenerating a layer wholesale)."""
    fs, path = filesystem(lake.table(layer, name))
    if fs.exists(path):
        fs.rm(path, recursive=True)
