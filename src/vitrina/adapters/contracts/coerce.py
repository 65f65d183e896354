"""Read raw files one by one and coerce each column to its canonical Arrow type.

Raw files come from many writers, so one file may store ``price`` as text, ``ts`` as an
ISO string or ids as integers. Each file is read on its own (a dataset read would fail
on the first schema mismatch) and every canonical column is coerced separately:

* a lossless cast within the same type family (int → float, int64 → int32 when every value
  fits, ns → us timestamps, any timezone → UTC, int/float/bool → string ids) is done
  vectorised by Arrow;
* otherwise the values are rendered as text and parsed (numbers, ``true``/``false``/``0``/
  ``1``, ISO-8601 timestamps — naive ones are taken as UTC — and lists written as a JSON
  array or as ``a|b|c``). A value that does not parse becomes null in the canonical table
  and its row gets the reason ``<column>: not a <type> (<original>)``. Nothing is dropped:
  the row goes to quarantine with its original text.

A canonical column missing from a file gives every row of that file the reason
``<column>: missing column``. Columns that are not canonical are dropped from the
validated data but kept (as text) in quarantine rows, so a mis-named column can be
diagnosed there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vitrina.adapters.contracts.issues import COERCE_STAGE, Issues
from vitrina.core.tables import TableSpec


@dataclass(frozen=True)
class RawFile:
    """One raw file exactly as read: ``table`` keeps the writer's own types and columns."""

    path: str
    table: pa.Table


def type_name(target: pa.DataType) -> str:
    """The word used in reasons: ``price: not a float``."""
    if pa.types.is_floating(target):
        return "float"
    if target == pa.int32():
        return "32-bit integer"
    if pa.types.is_integer(target):
        return "integer"
    if pa.types.is_boolean(target):
        return "boolean"
    if pa.types.is_timestamp(target):
        return "timestamp"
    if pa.types.is_date(target):
        return "date"
    if pa.types.is_list(target):
        return "list of strings"
    return "string"


def _family(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "number"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return "time"
    if pa.types.is_boolean(kind):
        return "bool"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return "list"
    return "other"


def _castable_directly(source: pa.DataType, target: pa.DataType) -> bool:
    if _family(target) == "string":
        return _family(source) in {"number", "string", "bool"}
    if pa.types.is_boolean(target):
        return _family(source) == "bool"
    return _family(source) == _family(target)


def as_text(values: pa.Array) -> pa.Array:
    """Render any Arrow array as strings (nulls stay null): the 'original repr' of a value."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if _family(values.type) in {"number", "string", "bool", "time"}:
        try:
            return pc.cast(values, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    rendered = [
        None if v is None else v if isinstance(v, str) else json.dumps(v, default=str, ensure_ascii=False)
        for v in values.to_pylist()
    ]
    return pa.array(rendered, pa.string())


def _parse_number(text: pd.Series, target: pa.DataType) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(numbers)
    if pa.types.is_integer(target):
        info = np.iinfo(np.int32 if target == pa.int32() else np.int64)
        ok &= (numbers == np.round(numbers)) & (numbers >= info.min) & (numbers <= info.max)
        clean = np.where(ok, numbers, 0).astype(np.int64)
        return pa.array(clean, pa.int64(), mask=~ok).cast(target), ok
    return pa.array(np.where(ok, numbers, 0.0), target, mask=~ok), ok


_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d*)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$"  # a time, then an offset
_TRUE = {"true", "t", "1", "yes", "y", "1.0"}
_FALSE = {"false", "f", "0", "no", "n", "0.0"}


def _parse_bool(text: pd.Series) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    lowered = text.str.strip().str.lower()
    truth = lowered.isin(_TRUE).to_numpy()
    ok = truth | lowered.isin(_FALSE).to_numpy()
    return pa.array(truth, pa.bool_(), mask=~ok), ok


def _parse_time(text: pd.Series, target: pa.DataType) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    # Naive strings (taken as UTC) are parsed apart from those with an offset: pandas'
    # ISO8601 parser applies an earlier element's offset to later naive ones.
    aware = text.str.contains(_OFFSET, regex=True, na=False)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    for part in (aware, ~aware):
        if part.any():
            parsed[part] = pd.to_datetime(text[part], errors="coerce", utc=True, format="ISO8601")
    ok = parsed.notna().to_numpy()
    arrow = pa.Array.from_pandas(parsed.dt.tz_convert("UTC").astype("datetime64[us, UTC]"))
    return pc.cast(arrow, target), ok


def _parse_list(text: pd.Series) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    items: list[list[str] | None] = []
    ok = np.zeros(len(text), dtype=bool)
    for i, raw in enumerate(text.tolist()):
        value = _split_list(raw) if isinstance(raw, str) else None
        items.append(value)
        ok[i] = value is not None
    return pa.array(items, pa.list_(pa.string())), ok


def _split_list(raw: str) -> list[str] | None:
    """``["a","b"]`` (JSON) or ``a|b`` (the synonyms CSV convention); None when neither."""
    stripped = raw.strip()
    if stripped.startswith("["):
        try:
            loaded = json.loads(stripped)
        except json.JSONDecodeError:
            return None
        if isinstance(loaded, list) and all(isinstance(v, (str, int)) for v in loaded):
            return [str(v) for v in loaded]
        return None
    return [part.strip() for part in stripped.split("|") if part.strip()]


def coerce_column(values: pa.ChunkedArray | pa.Array, target: pa.DataType) -> tuple[pa.Array, pa.Array]:
    """Coerce ``values`` to ``target``.

    Returns ``(coerced, failed_text)``: ``coerced`` has type ``target`` with nulls where a
    value did not coerce; ``failed_text`` is a string array, null for rows that coerced (or
    were null already) and the original value's text for rows that did not.
    """
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    no_failures = pa.nulls(len(array), pa.string())
    if array.type == target:
        return array, no_failures
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), target), no_failures
    if _castable_directly(array.type, target):
        try:
            # Timestamps may lose sub-microsecond digits: the canonical unit is us.
            return pc.cast(array, target, safe=not pa.types.is_timestamp(target)), no_failures
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    text_arrow = as_text(array)
    text = pd.Series(text_arrow.to_pylist(), dtype="object")
    present = text.notna().to_numpy()
    if pa.types.is_floating(target) or pa.types.is_integer(target):
        coerced, ok = _parse_number(text, target)
    elif pa.types.is_boolean(target):
        coerced, ok = _parse_bool(text)
    elif pa.types.is_timestamp(target) or pa.types.is_date(target):
        coerced, ok = _parse_time(text, target)
    elif pa.types.is_list(target):
        if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
            # list<int> → list<string> is a plain cast; only nested garbage falls through.
            coerced, ok = pa.nulls(len(array), target), np.zeros(len(array), dtype=bool)
        else:
            coerced, ok = _parse_list(text)
    else:
        coerced, ok = pa.nulls(len(array), target), np.zeros(len(array), dtype=bool)
    failed = present & ~ok
    coerced = pc.if_else(pa.array(failed | ~present), pa.nulls(len(array), target), coerced)
    failed_text = pc.if_else(pa.array(failed), text_arrow, pa.nulls(len(array), pa.string()))
    return coerced, failed_text


def coerce_file(raw: RawFile, spec: TableSpec, issues: Issues, offset: int) -> pa.Table:
    """The canonical table of one raw file; failures go to ``issues`` at ``offset + row``."""
    n_rows = raw.table.num_rows
    columns: list[pa.Array] = []
    for field in spec.schema:
        if field.name not in raw.table.column_names:
            columns.append(pa.nulls(n_rows, field.type))
            missing = offset + np.arange(n_rows)
            issues.add(missing, field.name, f"{field.name}: missing column", stage=COERCE_STAGE)
            continue
        coerced, failed_text = coerce_column(raw.table[field.name], field.type)
        columns.append(coerced)
        failed = np.flatnonzero(pc.is_valid(failed_text).to_numpy(zero_copy_only=False))
        if failed.size:
            issues.add(
                offset + failed,
                field.name,
                f"{field.name}: not a {type_name(field.type)}",
                failed_text.take(pa.array(failed)).to_pylist(),
                stage=COERCE_STAGE,
            )
    return pa.Table.from_arrays(columns, schema=spec.schema)
