"""Validate a big dated table a group of raw files at a time, so its size is not bounded by
one process's memory.

Checked in one piece, a table holds every raw file, the coerced Arrow table, a pandas view for
pandera, pandera's masks and the valid copy at once: about 0.6 KB per event, 17–19 GB for the
28 M events of the large benchmark world (docs/benchmarks/scale.md). Here the raw files, in
their order (day partitions, so time order), are read and checked ``group_files`` at a time
with the same :func:`~vitrina.pipelines.validate.check_table`; each group's valid rows are
written as they are checked into a hidden staging folder of the table, and only one group's
frames are alive at once.

What stays as in the whole-table check:

* **Key uniqueness across groups**: the keys of every earlier group (valid or not) are carried
  to the next, and a row repeating one is quarantined as ``duplicate <key>`` — the first
  occurrence in file order wins, as before. The carried keys are the one part that grows with
  the table (an Arrow string array, ~40 bytes a key).
* **Atomic publish**: ``validated/`` changes only once every group is checked and the table's
  invalid share is within the limit: the staged parts are then moved into place and the previous
  run's files removed (:func:`~vitrina.adapters.contracts.storage.publish_staged`); otherwise,
  or on a crash, the staging folder is dropped and the last good table keeps serving.
* The counts, reasons, the newest timestamp and the quarantine rows (kept in memory: they are
  the invalid rows, normally few).

Two small differences, both only for rows that fail more than one check: a row failing another
schema check and repeating an earlier group's key lists the duplicate after that check in its
``_reason`` (the whole-table check orders them as pandera reports them), and the quarantine's
columns are the union of the raw files' columns in the order the groups meet them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from vitrina.adapters.contracts.integrity import Reference
from vitrina.adapters.contracts.raw_files import raw_listing, scan_raw
from vitrina.adapters.contracts.report import FileIssue
from vitrina.adapters.contracts.storage import discard_staged, stage_part
from vitrina.adapters.lake.paths import LakePaths
from vitrina.core.tables import TableSpec
from vitrina.shop_config import ContractsConfig

GROUPED_TABLES = frozenset({"events"})
"""Tables validated in groups of raw files (the ones that grow with traffic)."""


@dataclass
class GroupedCheck:
    """One table checked group by group: what the report needs, the quarantine, and the files."""

    files: int = 0
    input_rows: int = 0
    valid_rows: int = 0
    superseded_rows: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    newest: dt.datetime | None = None
    mapped: dict[str, int] = field(default_factory=dict)
    quarantine: pa.Table | None = None
    unreadable: list[FileIssue] = field(default_factory=list)
    unsupported: list[FileIssue] = field(default_factory=list)

    @property
    def invalid_share(self) -> float:
        quarantined = self.quarantine.num_rows if self.quarantine is not None else 0
        return quarantined / self.input_rows if self.input_rows else 0.0


def file_groups(urls: Sequence[str], group_files: int) -> list[list[str]]:
    """``urls`` in order, ``group_files`` at a time (the last group may be shorter)."""
    size = max(1, group_files)
    return [list(urls[start : start + size]) for start in range(0, len(urls), size)]


def check_in_groups(
    lake: LakePaths,
    spec: TableSpec,
    group_files: int,
    *,
    run_id: str,
    now: dt.datetime,
    references: dict[str, Reference],
    future_skew_minutes: float,
    contract: ContractsConfig | None,
) -> GroupedCheck:
    """Check ``raw/<spec>`` ``group_files`` files at a time and stage each group's valid rows
    under ``validated/<spec>/_staging-<run_id>/``; the caller publishes or discards them."""
    from vitrina.pipelines.validate import check_table  # the pipeline imports this module

    checked = GroupedCheck()
    reasons: Counter[str] = Counter()
    mapped: Counter[str] = Counter()
    quarantine: list[pa.Table] = []
    seen: list[pa.Array] = []  # each earlier group's distinct keys
    discard_staged(lake, "validated", spec.name, run_id)  # a crashed run's leftovers
    for number, urls in enumerate(file_groups(raw_listing(lake, spec), group_files)):
        scan = scan_raw(lake, spec, urls)
        checked.unreadable += scan.unreadable
        checked.unsupported += scan.unsupported
        if not scan.files:
            continue
        result = check_table(
            spec,
            scan.files,
            references=references,
            now=now,
            future_skew_minutes=future_skew_minutes,
            contract=contract,
            seen_keys=pa.chunked_array(seen, pa.string()),
        )
        checked.files += len(scan.files)
        del scan
        stage_part(
            lake, "validated", spec.name, result.valid, spec.date_column, run_id, f"g{number:05d}", now.date()
        )
        if result.input_ids is not None:
            seen.append(result.input_ids)
        checked.input_rows += result.input_rows
        checked.valid_rows += result.valid.num_rows
        checked.superseded_rows += result.superseded_rows
        reasons.update(result.reasons)
        mapped.update(result.mapped)
        if result.newest is not None and (checked.newest is None or result.newest > checked.newest):
            checked.newest = result.newest
        quarantine.append(result.quarantine)
    checked.reasons, checked.mapped = dict(reasons), dict(mapped)
    checked.quarantine = pa.concat_tables(quarantine, promote_options="default") if quarantine else None
    return checked
