"""The quarantine: rejected rows exactly as they arrived, with why and from where.

Every column of a quarantined row is stored as text rendered from the writer's own value
(so a price written as ``'abc'`` or a timestamp written as a string is preserved as it
was), including columns that are not part of the canonical schema. Three columns are added:
``_reason`` (every reason of the row, joined with ``"; "``), ``_source_file`` and
``_validated_at`` (UTC). Nothing that fails a contract is ever silently dropped. A table's
quarantine is one snapshot partition (the validation day) and is replaced by every run, since
each run re-checks all of ``raw/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from vitrina.adapters.contracts.coerce import RawFile, as_text
from vitrina.core.tables import TS, TableSpec

META_COLUMNS = ("_reason", "_source_file", "_validated_at")


def quarantine_columns(spec: TableSpec, files: Sequence[RawFile]) -> list[str]:
    """Canonical columns first, then any extra column seen in some file (sorted)."""
    extra = sorted({c for f in files for c in f.table.column_names} - set(spec.schema.names))
    return [*spec.schema.names, *extra]


def quarantine_schema(columns: Sequence[str]) -> pa.Schema:
    fields = [pa.field(c, pa.string()) for c in columns]
    fields += [
        pa.field("_reason", pa.string()),
        pa.field("_source_file", pa.string()),
        pa.field("_validated_at", TS),
    ]
    return pa.schema(fields)


def build_quarantine(
    spec: TableSpec,
    files: Sequence[RawFile],
    file_index: npt.NDArray[np.int64],
    local_row: npt.NDArray[np.int64],
    reasons: pd.Series,
    validated_at: dt.datetime,
) -> pa.Table:
    """The quarantine table of ``spec`` for the rows in ``reasons``.

    ``reasons`` maps a row position of the validated table to its reason text;
    ``file_index[pos]`` / ``local_row[pos]`` say where that row sits among ``files``.
    """
    columns = quarantine_columns(spec, files)
    schema = quarantine_schema(columns)
    positions = reasons.index.to_numpy(dtype=np.int64)
    if positions.size == 0:
        return schema.empty_table()
    texts = reasons.to_numpy(dtype=object)
    chunks: list[pa.Table] = []
    for index, raw in enumerate(files):
        mine = file_index[positions] == index
        if not mine.any():
            continue
        rows = raw.table.take(pa.array(local_row[positions[mine]]))
        n_rows = rows.num_rows
        arrays = [
            as_text(rows[c].combine_chunks()) if c in rows.column_names else pa.nulls(n_rows, pa.string())
            for c in columns
        ]
        arrays += [
            pa.array(texts[mine].tolist(), pa.string()),
            pa.array([raw.path] * n_rows, pa.string()),
            pa.array([validated_at] * n_rows, TS),
        ]
        chunks.append(pa.Table.from_arrays(arrays, schema=schema))
    return pa.concat_tables(chunks)
