"""Lake I/O of the contracts: replacing a published table (raw files are read by
:mod:`vitrina.adapters.contracts.raw_files`).

Kept apart from the checks so they stay pure functions over Arrow/pandas.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from vitrina.adapters.lake.io import list_parquet_files, write_table
from vitrina.adapters.lake.paths import LakePaths, Layer
from vitrina.core.artifacts.files import filesystem


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
