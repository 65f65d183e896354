"""A shop's own spellings turned into the canonical values before the contract checks them.

The shop file's ``contracts.value_maps`` says, per ``table.column``, which spelling of the shop
stands for which value the contract knows (``web: desktop``). The map is applied to the coerced
table, exactly (case and blanks count), before any check: a mapped value is then checked like any
other, and a value the map does not name still meets the vocabulary — allowed, or quarantined
with its reason. The number of values mapped per column is reported; the quarantine keeps the
raw file's own spelling, since it is built from the files as read.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc


def map_column(values: pa.ChunkedArray | pa.Array, mapping: Mapping[str, str]) -> tuple[pa.Array, int]:
    """``values`` with every value named by ``mapping`` replaced, and how many were."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    sources = pa.array(list(mapping), pa.string())
    targets = pa.array(list(mapping.values()), pa.string())
    position = pc.index_in(array, value_set=sources)
    hit = pc.is_valid(position)
    mapped = pc.if_else(hit, pc.take(targets, position), array)
    return mapped, int(pc.sum(hit).as_py() or 0)


def apply_value_maps(
    table: pa.Table, maps: Mapping[str, Mapping[str, str]]
) -> tuple[pa.Table, dict[str, int]]:
    """``table`` with each column of ``maps`` mapped; the count per column (zeros left out)."""
    counts: dict[str, int] = {}
    for column, mapping in maps.items():
        if not mapping or column not in table.column_names:
            continue
        mapped, count = map_column(table[column], mapping)
        if count:
            table = table.set_column(table.schema.get_field_index(column), column, mapped)
            counts[column] = count
    return table, counts
