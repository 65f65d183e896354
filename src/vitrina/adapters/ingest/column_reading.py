"""How one canonical column is read: its SQL value, a date format or cast, a time zone, its type.

A column comes from a source column, a SQL expression or a constant; reading it may need a date
``format`` (``strptime`` codes, or ``epoch`` / ``epoch_ms`` / ``epoch_us``), a ``cast`` or a
``timezone`` (local time converted to UTC). When such a reading may fail on some rows, the
original text is carried beside the value, so those rows can be quarantined with what they held.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from vitrina.adapters.ingest.duck_sql import ident, literal
from vitrina.adapters.ingest.mapping import Path_
from vitrina.adapters.ingest.mapping_model import ColumnSpec
from vitrina.adapters.ingest.mapping_sql import ROW, MappingSql

EPOCH_FORMATS = {"epoch": 1.0, "epoch_ms": 1e-3, "epoch_us": 1e-6}
"""Formats that read a number of seconds (milliseconds, microseconds) since 1970-01-01 UTC."""


@dataclass(frozen=True)
class ReadColumn:
    """One canonical column's SQL: its value and, when a reading may fail, the original text."""

    name: str
    target: pa.DataType
    value: str
    raw: str | None
    origin: Path_
    reading: Path_
    how: str | None  # what reads the value, for messages ("format '%Y-%m-%d'")


def value_name(column: str) -> str:
    return f"__v_{column}"


def raw_name(column: str) -> str:
    return f"__t_{column}"


class ColumnReader(MappingSql):
    """Plans the SQL that reads each canonical column of a table, failing on the mapping's line."""

    def _describe_value(
        self, name: str, column: str, expression: str, path: Path_, kept: str, group: str, columns: list[str]
    ) -> str:
        """The DuckDB type of ``expression`` in this table's context; a clear error if it has none."""
        carried = "" if group else f", {ROW}"
        try:
            return self._type(f"SELECT {expression} AS v{carried} FROM {ident(kept)}{group}")
        except duckdb.Error as error:
            text = str(error)
            if "GROUP BY clause" in text or "aggregate function" in text:
                hint = (
                    "it uses a column that is neither in group_by nor inside an aggregate "
                    "(any_value, min, sum, mode…)"
                    if group
                    else "it aggregates rows (sum, min, mode…) but the table has no group_by"
                )
                raise self.lines.error(path, f"{name}.{column}: {hint}") from None
            raise self._fail(path, f"{name}.{column}", error, columns, expression) from None

    def read_column(
        self,
        name: str,
        field_: pa.Field,
        given: ColumnSpec | str | bool | int | float | None,
        kept: str,
        group: str,
        columns: list[str],
    ) -> ReadColumn:
        base: Path_ = ("tables", name, "columns", field_.name)
        spec = given if isinstance(given, ColumnSpec) else None
        if not isinstance(given, ColumnSpec):
            value = given if isinstance(given, str) else literal(given)
            origin = base
        elif given.is_constant:
            value, origin = literal(given.constant), (*base, "constant")
        elif given.column is not None:
            value, origin = ident(given.column), (*base, "column")
        else:
            value, origin = str(given.sql), (*base, "sql")
        kind = self._describe_value(name, field_.name, value, origin, kept, group, columns)
        original = value
        raw: str | None = None
        reading, how = origin, None
        if spec is not None and spec.format is not None:
            raw = f"CAST({value} AS VARCHAR)"
            reading, how = (*base, "format"), f"format {spec.format!r}"
            value = self._parse(name, field_.name, value, spec.format, reading)
        elif spec is not None and spec.cast is not None:
            raw = f"CAST({value} AS VARCHAR)"
            reading, how = (*base, "cast"), f"cast to {spec.cast}"
            value = f"TRY_CAST({value} AS {spec.cast})"
        if spec is not None and (spec.format is not None or spec.cast is not None):
            kind = self._describe_value(name, field_.name, value, reading, kept, group, columns)
        if spec is not None and spec.timezone is not None:
            path = (*base, "timezone")
            value, kind, text_read = self._in_zone(name, field_.name, value, kind, spec.timezone, path)
            if text_read and raw is None:
                raw, reading, how = f"CAST({original} AS VARCHAR)", path, "reading as a local timestamp"
        if pa.types.is_date(field_.type) and kind.startswith("TIMESTAMP"):
            value = f"CAST({value} AS DATE)"
        elif pa.types.is_timestamp(field_.type) and kind == "DATE":
            value = f"CAST({value} AS TIMESTAMP)"
        return ReadColumn(field_.name, field_.type, value, raw, origin, reading, how)

    def _parse(self, name: str, column: str, value: str, form: str, path: Path_) -> str:
        if form in EPOCH_FORMATS:
            scale = EPOCH_FORMATS[form]
            return f"to_timestamp(TRY_CAST({value} AS DOUBLE) * {scale!r})"
        try:
            self.connection.execute(f"SELECT try_strptime('', {literal(form)})")
        except duckdb.Error as error:
            raise self._fail(path, f"{name}.{column}: format {form!r}", error) from None
        return f"try_strptime(CAST({value} AS VARCHAR), {literal(form)})"

    def _in_zone(
        self, name: str, column: str, value: str, kind: str, zone: str, path: Path_
    ) -> tuple[str, str, bool]:
        """``value`` (local time in ``zone``) as a UTC instant; whether text had to be read."""
        try:
            self.connection.execute(f"SELECT timezone({literal(zone)}, TIMESTAMP '2000-01-01')")
        except duckdb.Error:
            raise self.lines.error(path, f"{name}.{column}: unknown time zone {zone!r}") from None
        if kind == "TIMESTAMP WITH TIME ZONE":
            raise self.lines.error(
                path, f"{name}.{column}: the value already carries its time zone; drop timezone"
            )
        if kind == "VARCHAR":
            return (
                f"timezone({literal(zone)}, TRY_CAST({value} AS TIMESTAMP))",
                "TIMESTAMP WITH TIME ZONE",
                True,
            )
        if kind in ("TIMESTAMP", "DATE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"):
            return f"timezone({literal(zone)}, CAST({value} AS TIMESTAMP))", "TIMESTAMP WITH TIME ZONE", False
        raise self.lines.error(path, f"{name}.{column}: a {kind} value has no local time to convert")
