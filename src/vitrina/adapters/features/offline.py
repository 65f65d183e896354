"""Feature frames in the lake: ``<lake>/features/<frame>/dt=YYYY-MM-DD/part-<HHMMSSffffff>.parquet``.

One file per (frame, cutoff), written atomically, so recomputing a cutoff replaces its own
file instead of adding a duplicate row that a point-in-time join could pick. ``as_of`` is
stored as ``timestamp[us, UTC]`` (Feast's DuckDB offline store needs microseconds). These
files are the offline store Feast reads (:mod:`vitrina.adapters.features.feast_repo`).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from vitrina.adapters.features.definitions import FRAMES
from vitrina.adapters.lake.io import read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.core.artifacts.files import write_parquet_atomic


def frame_glob(lake: LakePaths, frame: str) -> str:
    """The Parquet glob of a frame's files (what Feast's file source reads)."""
    return lake.glob("features", frame)


def write_frames(lake: LakePaths, tables: dict[str, pa.Table]) -> list[str]:
    """Write each frame's table, one file per cutoff; returns the paths written.

    Raises ValueError for an unknown frame or a table whose columns are not the frame's.
    """
    written: list[str] = []
    for name, table in tables.items():
        if name not in FRAMES:
            raise ValueError(f"unknown feature frame {name!r}; known: {sorted(FRAMES)}")
        schema = FRAMES[name].schema
        if table.schema.names != schema.names:
            raise ValueError(f"frame {name!r} must have columns {schema.names}, got {table.schema.names}")
        table = table.cast(schema)
        for as_of in pc.unique(table["as_of"]).to_pylist():
            part = table.filter(pc.equal(table["as_of"], pa.scalar(as_of, schema.field("as_of").type)))
            path = f"{lake.partition('features', name, as_of.date())}/part-{as_of:%H%M%S%f}.parquet"
            written.append(write_parquet_atomic(part, path))
    return written


def read_frame(lake: LakePaths, frame: str) -> pa.Table:
    """Every stored cutoff of one frame (empty with the frame's schema if none)."""
    return read_table(lake, "features", frame, schema=FRAMES[frame].schema)
