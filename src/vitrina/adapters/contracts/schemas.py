"""Single-table contracts as pandera schemas, and their failures as per-row issues.

Each schema checks, on the canonical (already coerced) frame of one table: dtypes (a
safety net — coercion guarantees them), nullability, ranges, allowed values, non-empty
identifiers, key uniqueness (the first occurrence in file order stays valid, later ones are
quarantined as ``duplicate <key>``) and timestamp sanity (not before the contract's earliest
date, not after now + ``future_skew_minutes``, ``updated_at >= created_at``, ``signup_date``
not in the future). Validation is lazy, so every failure of every row is reported at once; all
checks are vectorised pandas expressions, which keeps a million-row table to seconds.

What varies by shop comes from its :class:`~vitrina.shop_config.ContractsConfig` (the shop
file; its defaults are the simulator's): each vocabulary's allowed values — or ``open``, any
non-empty text —, the earliest plausible date and the event types it logs at all. An event of a
canonical type the shop says it does not log is quarantined as ``event_type: not logged by
this shop``, apart from a value no shop may use (``not an allowed value``).

Cross-table checks (references, list subsets) live in :mod:`vitrina.adapters.contracts.integrity`.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow as pa
import pyarrow.compute as pc
from pandera.pandas import Check, Column, DataFrameSchema

from vitrina.adapters.contracts.issues import SCHEMA_STAGE, Issues
from vitrina.core.tables import TableSpec
from vitrina.shop_config import ContractsConfig

SIMULATOR_CONTRACT = ContractsConfig()
"""The contract when no shop file says otherwise: the simulator's marketplace."""
NOT_ALLOWED = "not an allowed value"
NOT_LOGGED = "not logged by this shop"
EMPTY = "empty"
EVENT_TYPE = ("events", "event_type")

# Columns that may be null (docs/spec.md §1); every other canonical column is required. A product
# without a description, a brand ("genérico") or a known cost is still sellable: models
# fall back (no margin feature, brand "unknown") instead of losing the product.
NULLABLE: dict[str, frozenset[str]] = {
    "catalog": frozenset({"description", "brand", "cost"}),
    "users": frozenset(),
    "events": frozenset({"position", "request_id"}),
    "transactions": frozenset(),
    "search_logs": frozenset({"user_id"}),
    "synonyms": frozenset({"category_scope"}),
    "judgments": frozenset({"source"}),
}
IDENTIFIERS = frozenset(
    {"product_id", "user_id", "event_id", "order_id", "search_id", "session_id", "seller_id", "term"}
)
# Text that must say something (not empty, not only blanks): a judgment of the query "" means nothing.
NON_BLANK: frozenset[tuple[str, str]] = frozenset({("judgments", "query")})


@dataclass(frozen=True)
class Bound:
    """A numeric range of the contract, kept as data so that other models (the API's event
    model) can state the same range; :meth:`check` is its pandera form."""

    ge: int | float | None = None
    gt: int | float | None = None
    le: int | float | None = None

    def check(self) -> Check:
        if self.ge is not None and self.le is not None:
            return Check.in_range(self.ge, self.le, error=f"must be in [{self.ge}, {self.le}]")
        if self.gt is not None:
            return Check.gt(self.gt, error=f"must be > {self.gt}")
        if self.ge is not None:
            return Check.ge(self.ge, error=f"must be >= {self.ge}")
        raise ValueError(f"unsupported bound {self}")


BOUNDS: dict[tuple[str, str], Bound] = {
    ("catalog", "price"): Bound(gt=0),
    ("catalog", "cost"): Bound(ge=0),
    ("catalog", "stock"): Bound(ge=0),
    ("users", "lifetime_value"): Bound(ge=0),
    ("events", "position"): Bound(ge=1),
    ("transactions", "quantity"): Bound(ge=1),
    ("transactions", "amount"): Bound(ge=0),
    ("transactions", "discount_pct"): Bound(ge=0, le=100),
    ("judgments", "grade"): Bound(ge=0),
}
RANGES: dict[tuple[str, str], Check] = {key: bound.check() for key, bound in BOUNDS.items()}
# After the catalog change log is collapsed, two rows with one product_id can only be
# different versions stamped with the same updated_at: say so instead of "duplicate".
DUPLICATE_CODES = {"catalog": "product_id: conflicting versions with the same updated_at"}
UPDATED_BEFORE_CREATED = "updated_at: before created_at"
WIDE_CHECKS = {UPDATED_BEFORE_CREATED: "updated_at"}


@dataclass(frozen=True)
class ColumnRule:
    """What the contract asks of one column, for models that accept rows one by one (the
    API's ``POST /events``): deriving them from here keeps both sides the same contract.

    ``allowed`` are the values accepted (None: no vocabulary, or an ``open`` one — then
    ``open`` is set and any non-empty text is accepted); ``not_logged`` are the canonical
    values the shop says it never produces (event types), refused with their own reason;
    ``value_map`` the shop's spellings and the values they stand for, applied before the
    checks (a spelling is accepted when what it stands for is)."""

    name: str
    kind: pa.DataType
    required: bool
    identifier: bool
    bound: Bound | None
    allowed: tuple[str, ...] | None
    earliest: dt.datetime | None  # timestamps: the earliest allowed instant (UTC)
    open: bool = False
    not_logged: tuple[str, ...] = ()
    value_map: tuple[tuple[str, str], ...] = ()


def _earliest(contract: ContractsConfig) -> pd.Timestamp:
    return pd.Timestamp(contract.earliest_date).tz_localize("UTC")


def column_rules(spec: TableSpec, contract: ContractsConfig | None = None) -> dict[str, ColumnRule]:
    """Every canonical column of ``spec`` with its rules under ``contract`` (default: the
    simulator's), in schema order. The latest allowed timestamp is not here: it is
    ``now + future_skew_minutes`` at the time of the check."""
    contract = contract or SIMULATOR_CONTRACT
    earliest = _earliest(contract).to_pydatetime()
    return {
        field.name: ColumnRule(
            name=field.name,
            kind=field.type,
            required=field.name not in NULLABLE[spec.name],
            identifier=field.name in IDENTIFIERS,
            bound=BOUNDS.get((spec.name, field.name)),
            allowed=contract.allowed(spec.name, field.name),
            earliest=earliest if pa.types.is_timestamp(field.type) else None,
            open=contract.is_open(spec.name, field.name),
            not_logged=contract.not_logged() if (spec.name, field.name) == EVENT_TYPE else (),
            value_map=tuple(contract.maps_of(spec.name).get(field.name, {}).items()),
        )
        for field in spec.schema
    }


def to_frame(table: pa.Table) -> pd.DataFrame:
    """The pandas view pandera checks: nullable ints/bools stay ints/bools, dates become datetimes."""
    mapping: dict[pa.DataType, Any] = {
        # Arrow-backed strings: no copy into Python objects, and null/isin/compare run in C++.
        pa.string(): pd.StringDtype("pyarrow"),
        pa.int64(): pd.Int64Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    frame: pd.DataFrame = table.to_pandas(types_mapper=mapping.get, date_as_object=False)
    return frame


@functools.cache
def _dtypes(spec: TableSpec) -> dict[str, Any]:
    """The pandas dtype of every canonical column, derived from the Arrow schema itself."""
    empty = to_frame(spec.schema.empty_table())
    return {name: empty[name].dtype for name in spec.schema.names}


def earliest_text(contract: ContractsConfig) -> str:
    """The reason of a timestamp before the contract's earliest date: ``before 2000-01-01``."""
    return f"before {contract.earliest_date:%Y-%m-%d}"


def _time_checks(
    now: pd.Timestamp, skew_minutes: float, is_date: bool, contract: ContractsConfig
) -> list[Check]:
    latest = now + pd.Timedelta(minutes=skew_minutes)
    earliest = _earliest(contract)
    if is_date:
        # A calendar day is in the future only when it starts after the latest allowed instant.
        latest = latest.tz_convert("UTC").tz_localize(None).normalize()
        earliest = earliest.tz_localize(None)
    return [
        Check(lambda s: s >= earliest, error=earliest_text(contract)),
        Check(lambda s: s <= latest, error="in the future"),
    ]


def _vocabulary_checks(rule: ColumnRule) -> list[Check]:
    """Allowed values, or any non-empty text for an open vocabulary. An event type the shop
    does not log is refused under its own reason, so the quarantine says which it was."""
    if rule.open:
        return [Check(lambda s: s != "", error=EMPTY)]
    if rule.allowed is None:
        return []
    if not rule.not_logged:
        return [Check.isin(list(rule.allowed), error=NOT_ALLOWED)]
    known = list(rule.allowed) + list(rule.not_logged)
    unlogged = list(rule.not_logged)
    return [
        Check.isin(known, error=NOT_ALLOWED),
        Check(lambda s: ~s.isin(unlogged), error=NOT_LOGGED),
    ]


def _column_checks(
    spec: TableSpec, rule: ColumnRule, now: pd.Timestamp, skew: float, contract: ContractsConfig
) -> Column:
    name, kind = rule.name, rule.kind
    checks: list[Check] = []
    if (spec.name, name) in RANGES:
        checks.append(RANGES[(spec.name, name)])
    checks.extend(_vocabulary_checks(rule))
    if name in IDENTIFIERS:
        checks.append(Check(lambda s: s != "", error=EMPTY))
    if (spec.name, name) in NON_BLANK:
        checks.append(Check(lambda s: s.str.strip() != "", error=EMPTY))
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        checks.extend(_time_checks(now, skew, pa.types.is_date(kind), contract))
    unique = spec.key == (name,)
    return Column(
        _dtypes(spec)[name],
        checks=checks,
        nullable=name in NULLABLE[spec.name],
        unique=unique,
        report_duplicates="exclude_first",
    )


def _updated_after_created(frame: pd.DataFrame) -> pd.Series:
    before = frame["updated_at"] < frame["created_at"]
    return ~before.fillna(False).astype(bool)


def contract_schema(
    spec: TableSpec,
    *,
    now: dt.datetime,
    future_skew_minutes: float,
    contract: ContractsConfig | None = None,
) -> DataFrameSchema:
    """The pandera schema of ``spec`` under ``contract`` (default: the simulator's); ``now``
    (UTC) anchors the "in the future" checks."""
    contract = contract or SIMULATOR_CONTRACT
    stamp = pd.Timestamp(now).tz_convert("UTC")
    columns = {
        name: _column_checks(spec, rule, stamp, future_skew_minutes, contract)
        for name, rule in column_rules(spec, contract).items()
    }
    wide: list[Check] = []
    if spec.name == "catalog":
        wide.append(Check(_updated_after_created, error=UPDATED_BEFORE_CREATED, ignore_na=False))
    return DataFrameSchema(
        columns,
        checks=wide,
        unique=list(spec.key) if len(spec.key) > 1 else None,
        report_duplicates="exclude_first",
        strict=True,
        ordered=False,
    )


def _code(spec: TableSpec, column: str, check: str) -> tuple[str, bool]:
    """(reason code, whether the offending value belongs in the text)."""
    if check == "not_nullable":
        return f"{column}: null", False
    if check == "field_uniqueness":
        return DUPLICATE_CODES.get(spec.name, f"duplicate {column}"), True
    if check == "multiple_fields_uniqueness":
        return f"duplicate ({', '.join(spec.key)})", False
    return f"{column}: {check}", True


def repeated_key_issues(spec: TableSpec, keys: pa.ChunkedArray, seen: pa.ChunkedArray) -> Issues:
    """The key-uniqueness failures of rows whose key an earlier group of files already had.

    A table checked a group of raw files at a time (``pipelines.validate_groups``) keeps the
    first occurrence of a key in file order valid, as the whole-table check does: a row whose
    key is in ``seen`` (every key of the earlier groups, valid or not) is a later occurrence.
    Same code and text as the contract's own uniqueness check; single-column keys only.

    The hash set is built on this group's keys and the carried keys only probe it: hashing the
    growing carried set again for every group would cost the square of the groups.
    """
    issues = Issues()
    if len(seen) == 0:
        return issues
    mine = pc.unique(keys)
    again = seen.filter(pc.is_in(seen, value_set=mine, skip_nulls=False))
    if len(again) == 0:
        return issues
    repeated = pc.is_in(keys, value_set=again.combine_chunks(), skip_nulls=False)
    rows = np.flatnonzero(np.asarray(repeated.to_numpy(zero_copy_only=False), dtype=bool))
    code, _ = _code(spec, spec.key[0], "field_uniqueness")
    issues.add(rows, spec.key[0], code, keys.take(pa.array(rows)).to_pylist(), stage=SCHEMA_STAGE)
    return issues


def schema_issues(
    spec: TableSpec,
    frame: pd.DataFrame,
    *,
    now: dt.datetime,
    future_skew_minutes: float,
    contract: ContractsConfig | None = None,
) -> Issues:
    """Run the contract of ``spec`` over ``frame`` (RangeIndex = row positions) lazily."""
    issues = Issues()
    schema = contract_schema(spec, now=now, future_skew_minutes=future_skew_minutes, contract=contract)
    try:
        with warnings.catch_warnings():
            # pandera's own failure-case concat trips a pandas deprecation; not ours to fix.
            warnings.filterwarnings("ignore", category=FutureWarning, module="pandera")
            schema.validate(frame, lazy=True, inplace=True)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        if cases["index"].isna().any():
            broken = cases[cases["index"].isna()][["column", "check"]].drop_duplicates()
            message = f"{spec.name}: coercion left column-level failures: {broken.to_dict('records')}"
            raise RuntimeError(message) from errors
        for (column, check), group in cases.groupby(["column", "check"], sort=False):
            column, check = str(column), str(check)
            if check in WIDE_CHECKS:
                if column != WIDE_CHECKS[check]:
                    continue  # pandera repeats a frame-level failure once per column
                issues.add(group["index"].to_numpy(), column, check, stage=SCHEMA_STAGE)
                continue
            code, with_value = _code(spec, column, check)
            if check == "multiple_fields_uniqueness":
                group = group.drop_duplicates(subset="index")
                column = spec.key[0]
            values = group["failure_case"].tolist() if with_value else None
            issues.add(group["index"].to_numpy(), column, code, values, stage=SCHEMA_STAGE)
    return issues
