"""``vitrina data validate``: every raw table against its contract, valid rows to ``validated/``.

Order matters: ``catalog`` and ``users`` are validated first because the other tables'
references are checked against *their valid rows* of this run (or, when a referenced table
has no raw files, against what ``validated/`` currently serves).

Each shop is held to its own contract: the ``contracts`` part of its shop file
(:mod:`vitrina.shop_config`, ``Settings.shop``) — vocabularies, value maps, the earliest plausible
date, the event types it logs, its thresholds. With no file the contract is the simulator's.

For each table (see :mod:`coerce`, :mod:`schemas`, :mod:`integrity`): read each raw file on
its own (one that cannot be read is quarantined as a file and the rest goes on; one of a type
the table is not read from is reported — :mod:`raw_files`), coerce it to the canonical types,
collapse the catalog change log, map the shop's spellings (:mod:`value_maps`), run the pandera
contract and the cross-table checks, then split rows into valid and quarantined —
``valid + quarantined = input`` always. A table with no raw files is not provided: nothing to
validate, ``validated/`` keeps what it had, and the report says so. Outputs replace the
previous run's:

* ``quarantine/<table>/`` is always written (rows as text with ``_reason``, ``_source_file``,
  ``_validated_at``);
* ``validated/<table>/`` (dated tables partitioned by their date column, snapshots in one
  partition) is replaced only when the table's invalid share is within
  ``max_invalid_share``; otherwise the last good data keeps serving and, once everything is
  written, :class:`ContractViolation` is raised naming the tables and their shares.

Freshness is table-level: a dated table whose newest valid timestamp is older than
``freshness_max_age_hours`` is reported as stale — a warning only, so a shop's historical export
validates, unless ``fail_on_stale`` makes it a failure; it never quarantines rows. Each threshold
is the caller's explicit value (the CLI flag), else the shop file's, else the setting's. The
report is also written as JSON to ``reports/validation/<run_id>.json`` and ``latest.json``.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vitrina.adapters.contracts.coerce import RawFile, coerce_file
from vitrina.adapters.contracts.integrity import Reference, collapse_change_log, integrity_issues
from vitrina.adapters.contracts.issues import Issues, summarise
from vitrina.adapters.contracts.quarantine import build_quarantine
from vitrina.adapters.contracts.raw_files import RawScan, quarantine_file, scan_raw, stray_entries
from vitrina.adapters.contracts.report import FileIssue, TableReport, ValidationReport
from vitrina.adapters.contracts.schemas import repeated_key_issues, schema_issues, to_frame
from vitrina.adapters.contracts.storage import discard_staged, publish_staged, replace_table
from vitrina.adapters.contracts.value_maps import apply_value_maps
from vitrina.adapters.home_lock import holds_home_lock
from vitrina.adapters.ingest.owned_files import finish_pending_imports
from vitrina.adapters.lake.io import list_parquet_files, read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.core.tables import TABLES, TableSpec
from vitrina.pipelines.validate_groups import GROUPED_TABLES, GroupedCheck, check_in_groups
from vitrina.shop_config import ContractsConfig

__all__ = ["ContractViolation", "TableResult", "ValidationReport", "check_table", "validate_lake"]

TABLE_ORDER = ("catalog", "users", "events", "transactions", "search_logs", "synonyms", "judgments")
REFERENCED = ("catalog", "users")
DERIVED_FROM = ("search_answers",)
"""Raw folders that are not validated themselves: the API's search answers, from which
``raw/search_logs`` is derived (:mod:`vitrina.pipelines.search.live_logs`)."""


class ContractViolation(Exception):  # noqa: N818 (name fixed by the CLI contract)
    """Raised after everything is written when a table breaks its contract beyond the threshold."""

    def __init__(self, message: str, report: ValidationReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class TableResult:
    """The outcome of :func:`check_table`, before anything is written."""

    valid: pa.Table
    quarantine: pa.Table
    input_ids: pa.Array | None
    input_rows: int
    superseded_rows: int
    reasons: dict[str, int]
    newest: dt.datetime | None
    mapped: dict[str, int] = field(default_factory=dict)

    @property
    def invalid_share(self) -> float:
        return self.quarantine.num_rows / self.input_rows if self.input_rows else 0.0

    @property
    def valid_rows(self) -> int:
        return int(self.valid.num_rows)

    def reference(self, spec: TableSpec) -> Reference:
        """What other tables may point at: this table's valid keys and every key it had."""
        key = spec.key[0]
        known = self.input_ids if self.input_ids is not None else pa.array([], pa.string())
        return Reference(valid=_unique(self.valid[key]), known=known)


def _unique(values: pa.ChunkedArray) -> pa.Array:
    unique: pa.Array = pc.unique(values.combine_chunks())
    return unique


def _coerce_all(
    spec: TableSpec, files: Sequence[RawFile], issues: Issues
) -> tuple[pa.Table, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    chunks: list[pa.Table] = []
    file_index: list[npt.NDArray[np.int64]] = []
    local_row: list[npt.NDArray[np.int64]] = []
    offset = 0
    for index, raw in enumerate(files):
        chunks.append(coerce_file(raw, spec, issues, offset))
        file_index.append(np.full(raw.table.num_rows, index, dtype=np.int64))
        local_row.append(np.arange(raw.table.num_rows, dtype=np.int64))
        offset += raw.table.num_rows
    canonical = pa.concat_tables(chunks) if chunks else spec.schema.empty_table()
    empty = np.zeros(0, dtype=np.int64)
    return (
        canonical,
        np.concatenate(file_index) if file_index else empty,
        np.concatenate(local_row) if local_row else empty,
    )


def check_table(
    spec: TableSpec,
    files: Sequence[RawFile],
    *,
    references: dict[str, Reference],
    now: dt.datetime,
    future_skew_minutes: float,
    contract: ContractsConfig | None = None,
    seen_keys: pa.ChunkedArray | None = None,
) -> TableResult:
    """Validate one table's raw files (pure: no lake I/O) under ``contract`` (default: the
    simulator's). ``now`` is a UTC datetime. ``seen_keys``: the keys of the groups of files
    checked before these (:mod:`vitrina.pipelines.validate_groups`); a row repeating one is a
    duplicate, and the result's ``input_ids`` are then this group's keys."""
    issues = Issues()
    canonical, file_index, local_row = _coerce_all(spec, files, issues)
    frame = to_frame(canonical)
    superseded = 0
    if spec.name == "catalog":
        keep, superseded = collapse_change_log(frame)
        if superseded:
            issues.keep_rows(keep, canonical.num_rows)
            canonical = canonical.take(pa.array(keep))
            frame = frame.iloc[keep].reset_index(drop=True)
            file_index, local_row = file_index[keep], local_row[keep]
    mapped: dict[str, int] = {}
    if contract is not None:
        canonical, mapped = apply_value_maps(canonical, contract.maps_of(spec.name))
        if mapped:
            frame = to_frame(canonical)
    issues.extend(
        schema_issues(spec, frame, now=now, future_skew_minutes=future_skew_minutes, contract=contract)
    )
    if seen_keys is not None:
        issues.extend(repeated_key_issues(spec, canonical[spec.key[0]], seen_keys))
    issues.extend(integrity_issues(canonical, spec.name, references))
    invalid, reasons, counts = summarise(issues.frame(), canonical.num_rows)
    valid = canonical.filter(pa.array(~invalid))
    newest = None
    if spec.date_column is not None and valid.num_rows:
        newest = pc.max(valid[spec.date_column]).as_py()
    return TableResult(
        valid=valid,
        quarantine=build_quarantine(spec, files, file_index, local_row, reasons, now),
        input_ids=_unique(canonical[spec.key[0]])
        if spec.name in REFERENCED or seen_keys is not None
        else None,
        input_rows=canonical.num_rows,
        superseded_rows=superseded,
        reasons=counts,
        newest=newest,
        mapped=mapped,
    )


def _published_reference(lake: LakePaths, spec: TableSpec) -> Reference:
    """The ids ``validated/`` serves now; used when a referenced table has no raw files."""
    if not list_parquet_files(lake, "validated", spec.name):
        empty = pa.array([], pa.string())
        return Reference(valid=empty, known=empty)
    ids = _unique(read_table(lake, "validated", spec.name, schema=spec.schema)[spec.key[0]])
    return Reference(valid=ids, known=ids)


@dataclass(frozen=True)
class Thresholds:
    """What fails a run: the caller's explicit value, else the shop file's, else the setting's."""

    max_invalid_share: float
    freshness_max_age_hours: float
    fail_on_stale: bool

    @classmethod
    def resolve(
        cls, settings: Settings, max_invalid_share: float | None, fail_on_stale: bool | None
    ) -> Thresholds:
        contracts = settings.shop.contracts
        return cls(
            max_invalid_share=_first(
                max_invalid_share, contracts.max_invalid_share, settings.max_invalid_share
            ),
            freshness_max_age_hours=_first(
                None, contracts.freshness_max_age_hours, settings.freshness_max_age_hours
            ),
            fail_on_stale=settings.fail_on_stale if fail_on_stale is None else fail_on_stale,
        )


def _first(explicit: float | None, shop: float | None, setting: float) -> float:
    return explicit if explicit is not None else shop if shop is not None else setting


def _is_stale(newest: dt.datetime | None, now: dt.datetime, max_age_hours: float) -> bool:
    return newest is None or now - newest > dt.timedelta(hours=max_age_hours)


def _stale_warning(
    name: str, spec: TableSpec, newest: dt.datetime | None, now: dt.datetime, limits: Thresholds
) -> str:
    """One line: how old the table is, the limit, and whether that fails the run. A shop's
    historical export is stale by design; by default it is told, not failed."""
    if newest is None:
        age = "no valid rows"
    else:
        hours = (now - newest).total_seconds() / 3600
        age = f"newest valid {spec.date_column} is {newest:%Y-%m-%d %H:%M} UTC, "
        age += f"{hours:.1f} h old" if hours < 72 else f"{hours / 24:,.0f} days old"
    limit = f"limit {limits.freshness_max_age_hours:g} h"
    if limits.fail_on_stale:
        return f"{name} is stale: {age} ({limit}; fails validation: fail_on_stale is set)"
    return f"{name} is stale: {age} ({limit}; a warning only — set VITRINA_FAIL_ON_STALE=true to fail on it)"


def _failure_message(report: ValidationReport) -> str:
    parts = []
    over = [t for t in report.failed if report.tables[t].invalid_share > report.max_invalid_share]
    if over:
        shares = ", ".join(f"{t} {report.tables[t].invalid_share:.1%}" for t in over)
        parts.append(
            f"invalid rows exceed the {report.max_invalid_share:.1%} limit in {shares} "
            "(their validated/ data was left unchanged; see quarantine/)"
        )
    stale = [t for t in report.failed if t not in over]
    if stale:
        parts.append(
            f"{', '.join(stale)} {'is' if len(stale) == 1 else 'are'} older than "
            f"{report.freshness_max_age_hours:g} h"
        )
    return "; ".join(parts)


@holds_home_lock
def validate_lake(
    settings: Settings, *, max_invalid_share: float | None = None, fail_on_stale: bool | None = None
) -> ValidationReport:
    """Validate every raw table against the shop's contract, publish the results, and return
    the report.

    ``max_invalid_share`` and ``fail_on_stale`` override the shop file and the settings when
    given (``vitrina data validate --max-invalid-share``). Raises :class:`ContractViolation`
    (carrying the report) after writing everything when a table's invalid share exceeds the
    limit — or, with ``fail_on_stale``, when a dated table is stale. A bad shop file raises
    :class:`~vitrina.shop_config.ShopFileError` before anything is read or written.
    """
    shop = settings.shop
    contract = shop.contracts
    limits = Thresholds.resolve(settings, max_invalid_share, fail_on_stale)
    now = dt.datetime.now(dt.UTC)
    run_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    lake = LakePaths(settings.lake)
    finish_pending_imports(lake)  # an import a crash interrupted is completed before raw/ is read
    references: dict[str, Reference] = {}
    tables: dict[str, TableReport] = {}
    missing: list[str] = []
    failed: list[str] = []
    warnings: list[str] = []
    file_issues: list[FileIssue] = stray_entries(lake, TABLE_ORDER + DERIVED_FROM)
    for name in TABLE_ORDER:
        spec = TABLES[name]
        started = time.perf_counter()
        checked: GroupedCheck | TableResult
        scan: RawScan | None = None
        if name in GROUPED_TABLES and settings.validate_group_files:
            checked = check_in_groups(
                lake,
                spec,
                settings.validate_group_files,
                run_id=run_id,
                now=now,
                references=references,
                future_skew_minutes=settings.future_skew_minutes,
                contract=contract,
            )
            unreadable, unsupported, n_files = checked.unreadable, checked.unsupported, checked.files
        else:
            scan = scan_raw(lake, spec)
            unreadable, unsupported, n_files = scan.unreadable, scan.unsupported, len(scan.files)
        file_issues += [quarantine_file(lake, bad, run_id, now) for bad in unreadable]
        file_issues += unsupported
        if not n_files:
            missing.append(name)
            if name in REFERENCED:
                references[name] = _published_reference(lake, spec)
            continue
        if scan is not None:
            checked = check_table(
                spec,
                scan.files,
                references=references,
                now=now,
                future_skew_minutes=settings.future_skew_minutes,
                contract=contract,
            )
            scan = None  # the raw files are no longer needed
        if name in REFERENCED and isinstance(checked, TableResult):
            references[name] = checked.reference(spec)
        over = checked.invalid_share > limits.max_invalid_share
        quarantine = checked.quarantine if checked.quarantine is not None else pa.table({})
        replace_table(lake, "quarantine", name, quarantine, None, run_id, now.date())
        if isinstance(checked, GroupedCheck):
            (discard_staged if over else publish_staged)(lake, "validated", name, run_id)
        elif not over:
            replace_table(lake, "validated", name, checked.valid, spec.date_column, run_id, now.date())
        stale = spec.date_column is not None and _is_stale(
            checked.newest, now, limits.freshness_max_age_hours
        )
        if stale:
            warnings.append(_stale_warning(name, spec, checked.newest, now, limits))
        if over or (stale and limits.fail_on_stale):
            failed.append(name)
        tables[name] = TableReport(
            table=name,
            files=n_files,
            input_rows=checked.input_rows,
            valid_rows=checked.valid_rows,
            quarantined_rows=quarantine.num_rows,
            superseded_rows=checked.superseded_rows,
            reasons=checked.reasons,
            newest=checked.newest,
            stale=stale,
            published=not over,
            seconds=time.perf_counter() - started,
            unreadable_files=len(unreadable),
            unsupported_files=len(unsupported),
            mapped=checked.mapped,
        )
    report = ValidationReport(
        run_id=run_id,
        validated_at=now,
        max_invalid_share=limits.max_invalid_share,
        freshness_max_age_hours=limits.freshness_max_age_hours,
        tables=tables,
        missing=tuple(missing),
        failed=tuple(failed),
        warnings=tuple(warnings),
        files=tuple(file_issues),
        shop=shop.name,
        currency=shop.currency,
        event_types=contract.event_types,
        earliest_date=contract.earliest_date,
        fail_on_stale=limits.fail_on_stale,
    )
    folder = lake.table("reports", "validation")
    write_json_atomic(report.to_dict(), f"{folder}/{run_id}.json")
    write_json_atomic(report.to_dict(), f"{folder}/latest.json")
    if failed:
        raise ContractViolation(_failure_message(report), report)
    return report
