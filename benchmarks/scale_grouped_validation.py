"""Validation in groups of raw files, so the steps after it can be measured where the whole
table does not fit (``benchmarks/scale.py --validate-groups N``).

``vitrina data validate`` checks each table in one piece: its raw files coerced into one Arrow
table, that table as a pandas frame for the pandera contract, the issues frame, the valid copy
and the quarantine — about 0.8 KB of peak memory per event at demo scale. This wraps the
product's own :func:`~vitrina.pipelines.validate.check_table` to check a table with more than
``groups`` files one group at a time (files in their order) and merge the results, so only one
group's frames are alive at once; everything else of ``validate_lake`` (references, writes,
report) is unchanged.

Not equivalent to the product's validation: a key repeated in two different groups is not
caught as a duplicate (each group keeps its first occurrence). The benchmark records the valid
and quarantined rows, so the difference shows; it is a stand-in for the missing out-of-core
validation, not a replacement for it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa


def group_files(files: Sequence[Any], groups: int) -> list[list[Any]]:
    """``files`` split in order into at most ``groups`` runs of near-equal length."""
    n = max(1, min(groups, len(files)))
    size, extra = divmod(len(files), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(list(files[start:end]))
        start = end
    return out


def install(groups: int) -> None:
    """Make ``validate_lake`` check tables with more than ``groups`` raw files group by group."""
    from vitrina.pipelines import validate

    whole: Callable[..., validate.TableResult] = validate.check_table

    def grouped(spec: Any, files: Sequence[Any], **kwargs: Any) -> validate.TableResult:
        if len(files) <= groups or spec.name in validate.REFERENCED or spec.name == "catalog":
            return whole(spec, files, **kwargs)
        valid, quarantine, reasons, mapped = [], [], Counter[str](), Counter[str]()
        rows = superseded = 0
        newest: dt.datetime | None = None
        for part in group_files(files, groups):
            result = whole(spec, part, **kwargs)
            valid.append(result.valid)
            quarantine.append(result.quarantine)
            rows += result.input_rows
            superseded += result.superseded_rows
            reasons.update(result.reasons)
            mapped.update(result.mapped)
            if result.newest is not None and (newest is None or result.newest > newest):
                newest = result.newest
            del result
        return validate.TableResult(
            valid=pa.concat_tables(valid),
            quarantine=pa.concat_tables(quarantine),
            input_ids=None,
            input_rows=rows,
            superseded_rows=superseded,
            reasons=dict(reasons),
            newest=newest,
            mapped=dict(mapped),
        )

    validate.check_table = grouped  # type: ignore[assignment]
