"""Lake I/O of the contracts: reading raw files one by one, replacing a published table.

Kept apart from the checks so they stay pure functions over Arrow/pandas.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vitrina.contracts.coerce import RawFile
from vitrina.contracts.tables import TableSpec
from vitrina.lake.io import filesystem, list_parquet_files, write_table
from vitrina.lake.paths import LakePaths, Layer

CSV_TABLES = frozenset({"synonyms"})
LIST_SEPARATOR = "|"


def _csv_files(lake: LakePaths, name: str) -> list[str]:
    fs, path = filesystem(lake.table("raw", name))
    if not fs.exists(path):
        return []
    found = [f for f in fs.find(path) if f.endswith(".csv")]
    visible = [f for f in found if not any(seg.startswith((".", "_")) for seg in f[len(path) :].split("/"))]
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    prefix = "" if protocol in ("file", "local") else f"{protocol}://"
    return sorted(f"{prefix}{f}" for f in visible)


def read_csv_text(url: str) -> pa.Table:
    """A CSV with every column as text (empty cells are null): typing is coercion's job."""
    fs, path = filesystem(url)
    with fs.open(path, "r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    frame = frame.replace({"": None})
    return pa.Table.from_pandas(frame, preserve_index=False)


def read_raw_files(lake: LakePaths, spec: TableSpec) -> list[RawFile]:
    """Every raw file of ``spec`` in partition (time) order, each with its own schema.

    Synonyms also come as curated CSV files (``term,synonyms,category_scope`` with the
    synonyms separated by ``|``).
    """
    files: list[RawFile] = []
    for url in list_parquet_files(lake, "raw", spec.name):
        fs, path = filesystem(url)
        with fs.open(path, "rb") as handle:
            files.append(RawFile(path=url, table=pq.read_table(handle)))
    if spec.name in CSV_TABLES:
        files.extend(RawFile(path=url, table=read_csv_text(url)) for url in _csv_files(lake, spec.name))
    return files


def replace_table(
    lake: LakePaths,
    layer: Layer,
    name: str,
    table: pa.Table,
    date_column: str | None,
    run_id: str,
    day: dt.date,
) -> list[str]:
    """Publish ``table`` as the whole content of ``<layer>/<name>``, replacing earlier runs.

    New files are written first (atomically, named by ``run_id``) and only then are the
    previous run's files removed, so a reader never finds the table empty and a crash
    leaves the last good data in place.
    """
    written = write_table(lake, layer, name, table, date_column, snapshot_day=day, part=run_id)
    keep = f"part-{run_id}.parquet"
    fs, root = filesystem(lake.table(layer, name))
    for url in list_parquet_files(lake, layer, name):
        if url.rsplit("/", 1)[-1] != keep:
            fs.rm(filesystem(url)[1])
    if fs.exists(root):
        for folder in sorted(fs.find(root, withdirs=True), key=len, reverse=True):
            if fs.isdir(folder) and not fs.ls(folder):
                fs.rmdir(folder)
    return written
