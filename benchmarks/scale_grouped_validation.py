"""Validation in groups of raw files, so the steps after it can be measured where the whole
table does not fit (``benchmarks/scale.py --validate-groups N``).

``vitrina data validate`` checks each table in one piece: every raw file read into memory, the
files coerced into one Arrow table, that table as a pandas frame for the pandera contract, the
issues frame and the valid copy — about 0.7 KB of peak memory per event at demo scale. This wraps
the product's own :func:`~vitrina.pipelines.validate.check_table` to check a table with more
than ``groups`` Parquet files one group at a time (files in their order) and merge the results,
and its ``scan_raw`` to read such a table's files only when their group is checked (the scan
reads the Parquet footers, which finds files that cannot be opened, not a corrupt page). Only one
group's frames and the valid rows so far are alive at once; everything else of ``validate_lake``
(references, writes, report) is unchanged.

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
import pyarrow.parquet as pq


class LazyRaw:
    """A raw Parquet file read when a group first needs it and dropped after the group."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._table: pa.Table | None = None

    @property
    def table(self) -> pa.Table:
        if self._table is None:
            self._table = pq.read_table(self.path)
        return self._table

    def release(self) -> None:
        self._table = None


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
    from vitrina.adapters.contracts import raw_files
    from vitrina.adapters.contracts.report import FileIssue
    from vitrina.pipelines import validate

    whole: Callable[..., validate.TableResult] = validate.check_table
    scan_all: Callable[..., Any] = validate.scan_raw  # type: ignore[attr-defined]

    def big(spec: Any) -> bool:
        return spec.name not in validate.REFERENCED and spec.name != "catalog"

    def lazy_scan(lake: Any, spec: Any) -> Any:
        urls = raw_files._listing(lake, spec.name)
        if not big(spec) or len(urls) <= groups or not all(u.endswith(".parquet") for u in urls):
            return scan_all(lake, spec)
        scan = raw_files.RawScan()
        for url in urls:
            try:
                pq.read_metadata(url)
            except raw_files.READ_ERRORS as error:
                issue = FileIssue(spec.name, url, "unreadable", f"{type(error).__name__}: {error}")
                scan.unreadable.append(issue)
                continue
            scan.files.append(LazyRaw(url))  # type: ignore[arg-type]  # read like a RawFile
        return scan

    def grouped(spec: Any, files: Sequence[Any], **kwargs: Any) -> validate.TableResult:
        if len(files) <= groups or not big(spec):
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
            for raw in part:
                if isinstance(raw, LazyRaw):
                    raw.release()
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

    validate.check_table = grouped
    validate.scan_raw = lazy_scan  # type: ignore[attr-defined,assignment]
