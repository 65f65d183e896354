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


STAGING_PREFIX = "_staging-"
"""Folder inside a table where a run's parts wait until the whole table is checked; hidden
from readers (names starting with ``_`` are not data)."""


def stage_part(
    lake: LakePaths,
    layer: Layer,
    name: str,
    table: pa.Table,
    date_column: str | None,
    run_id: str,
    part: str,
    day: dt.date,
) -> list[str]:
    """Write one part of the run's ``<layer>/<name>`` into its staging folder (not yet served)."""
    staged = f"{name}/{STAGING_PREFIX}{run_id}"
    return write_table(lake, layer, staged, table, date_column, snapshot_day=day, part=f"{run_id}-{part}")


def publish_staged(lake: LakePaths, layer: Layer, name: str, run_id: str) -> None:
    """Serve the staged parts as the whole content of ``<layer>/<name>``, as :func:`replace_table`
    does: the parts are moved into their partitions first (each move is a rename on a local or
    HDFS lake), then the earlier runs' files are removed, so a reader never finds the table empty
    and a crash before the moves leaves the last good data in place."""
    fs, root = filesystem(lake.table(layer, name))
    staging = f"{root}/{STAGING_PREFIX}{run_id}"
    mine = f"part-{run_id}-"
    if fs.exists(staging):
        for path in fs.find(staging):
            target = f"{root}/{path[len(staging) + 1 :]}"
            fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            fs.mv(path, target)
    for url in list_parquet_files(lake, layer, name):
        if not url.rsplit("/", 1)[-1].startswith(mine):
            fs.rm(filesystem(url)[1])
    discard_staged(lake, layer, name, run_id)


def discard_staged(lake: LakePaths, layer: Layer, name: str, run_id: str) -> None:
    """Drop the run's staging folder (and any a crashed run left), keeping what is served."""
    fs, root = filesystem(lake.table(layer, name))
    if not fs.exists(root):
        return
    for entry in fs.ls(root, detail=False):
        if entry.rstrip("/").rsplit("/", 1)[-1].startswith(STAGING_PREFIX):
            fs.rm(entry, recursive=True)
    for folder in sorted(fs.find(root, withdirs=True), key=len, reverse=True):
        if fs.isdir(folder) and not fs.ls(folder):
            fs.rmdir(folder)
