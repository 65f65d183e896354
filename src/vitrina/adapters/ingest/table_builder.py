"""Build one canonical table of a mapping inside DuckDB: input, filters, grouping, columns, sessions.

The steps, each a SQL statement over the previous one's temporary table:

1. **Input**: a source or an earlier table (``from``), or the rows of a ``sql`` query (joins).
   Each row gets its read position, which decides "the first" of duplicates and the order of
   ``group_by``'s groups.
2. **Filters**, in the order written: a row is dropped by the first filter that matches and
   counted under its reason. ``when`` is a SQL condition (a NULL result does not match: the row
   goes on, and validation reports what is missing); ``duplicates`` drops rows equal, on every
   input column or on the ones listed, to an earlier row that no earlier filter dropped.
3. **Grouping** (optional): the remaining rows with equal ``group_by`` values become one row; the
   columns are then aggregates (``sum(Quantity)``, ``mode(Description)``), and the rows that
   disappear are counted as merged.
4. **Columns**: every canonical column from its source column, SQL expression or constant,
   optionally read with a date ``format`` (``strptime`` codes, or ``epoch`` / ``epoch_ms``), in a
   ``timezone`` (converted to UTC) or through a ``cast``. A nullable canonical column the mapping
   does not give is written null.
5. **Sessions** (optional): ``session_id`` from time gaps between a user's rows.

So ``read = written + filtered + merged`` holds exactly for every table.

Values are then coerced to the canonical types by the contracts' own coercion. Values that do
not convert in *some* rows are not dropped: the column is written as text, the original value in
the failing rows, so ``vitrina data validate`` quarantines those rows with their reason. A column
where *no* value converts is a mapping mistake (a wrong date format, the wrong column) and fails
on its line, as does any SQL DuckDB refuses (an unknown column, a bad expression).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from vitrina.adapters.contracts.coerce import as_text, coerce_column, type_name
from vitrina.adapters.ingest.column_reading import ColumnReader, ReadColumn, raw_name, value_name
from vitrina.adapters.ingest.duck_sql import ident
from vitrina.adapters.ingest.mapping import MappingLines, Path_
from vitrina.adapters.ingest.mapping_model import TableMapping
from vitrina.adapters.ingest.mapping_sql import ROW, MappingSql
from vitrina.core.tables import TABLES, TableSpec

REASON = "__vitrina_reason"
_EXAMPLES = 3


@dataclass(frozen=True)
class TableCounts:
    """Where every input row of one table went."""

    read: int
    written: int
    filtered: dict[str, int] = field(default_factory=dict)
    merged: int = 0
    merged_label: str | None = None

    @property
    def reconciles(self) -> bool:
        return self.read == self.written + sum(self.filtered.values()) + self.merged

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "written": self.written,
            "filtered": [{"reason": reason, "rows": rows} for reason, rows in self.filtered.items()],
            "merged": self.merged,
            "merged_label": self.merged_label,
        }


@dataclass(frozen=True)
class BuiltTable:
    """One canonical table, built in memory and not yet written.

    ``data`` has the canonical columns in order, each of its canonical type — or text when some
    of its values did not convert (``kept_as_text`` counts them per column). ``days`` is the UTC
    day of each row's date column for dated tables (null where it did not convert).
    """

    name: str
    data: pa.Table
    days: pa.Array | None
    counts: TableCounts
    kept_as_text: dict[str, int]
    null_columns: tuple[str, ...]


class TableBuilder(MappingSql):
    """Builds the tables of one mapping, in order, on one DuckDB connection holding its sources."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, lines: MappingLines) -> None:
        super().__init__(connection, lines)
        self.reader = ColumnReader(connection, lines)

    # -- 1. input ----------------------------------------------------------------------------

    def _input(self, name: str, entry: TableMapping, into: str) -> None:
        base: Path_ = ("tables", name)
        if entry.from_ is not None:
            source = ident(entry.from_)
        else:
            staged = f"{into}_sql"
            try:
                query = str(entry.sql).strip().rstrip(";")
                self.connection.execute(f"CREATE TEMP TABLE {ident(staged)} AS {query}")
            except duckdb.Error as error:
                raise self._fail((*base, "sql"), f"{name}.sql", error) from None
            source = ident(staged)
        self.connection.execute(f"CREATE TEMP TABLE {ident(into)} AS SELECT rowid AS {ROW}, * FROM {source}")
        if entry.sql is not None:
            self._drop(f"{into}_sql")

    # -- 2. filters --------------------------------------------------------------------------

    def _filter(
        self, name: str, entry: TableMapping, source: str, into: str, columns: list[str]
    ) -> dict[str, int]:
        """Mark each row of ``source`` with the index of the filter that drops it; counts by reason."""
        base: Path_ = ("tables", name, "filters")
        conditions: list[str] = []
        layer = ident(source)
        for index, rule in enumerate(entry.filters):
            path: Path_ = (*base, index)
            if rule.when is not None:
                condition = f"({rule.when})"
                try:
                    self.connection.execute(f"SELECT CASE WHEN {condition} THEN 1 END FROM {layer} LIMIT 0")
                except duckdb.Error as error:
                    raise self._fail(
                        (*path, "when"), f"{name}: filter {rule.reason!r}", error, columns, rule.when
                    ) from None
                conditions.append(condition)
                continue
            keys = columns if rule.duplicates is True else list(rule.duplicates or [])
            unknown = [key for key in keys if key not in columns]
            if unknown:
                raise self.lines.error(
                    (*path, "duplicates"),
                    f"{name}: filter {rule.reason!r}: unknown column {unknown[0]!r} "
                    f"(columns: {', '.join(columns)})",
                )
            survived = f"({self._reason_case(conditions)}) IS NULL" if conditions else "TRUE"
            flag = f"__vitrina_dup_{index}"
            partition = ", ".join([*(ident(k) for k in keys), survived])
            layer = (
                f"(SELECT *, row_number() OVER (PARTITION BY {partition} ORDER BY {ROW}) > 1 AS {flag} "
                f"FROM {layer})"
            )
            conditions.append(flag)
        reason = self._reason_case(conditions) if conditions else "CAST(NULL AS INTEGER)"
        try:
            self.connection.execute(
                f"CREATE TEMP TABLE {ident(into)} AS SELECT *, {reason} AS {REASON} FROM {layer}"
            )
        except duckdb.Error as error:
            raise self._locate_filter(name, entry, source, error) from None
        counts: Counter[int] = Counter(
            {
                int(i): int(n)
                for i, n in self.connection.execute(
                    f"SELECT {REASON}, count(*) FROM {ident(into)} WHERE {REASON} IS NOT NULL GROUP BY 1"
                ).fetchall()
            }
        )
        filtered: dict[str, int] = {}
        for index, rule in enumerate(entry.filters):
            filtered[rule.reason] = filtered.get(rule.reason, 0) + counts[index]
        return filtered

    @staticmethod
    def _reason_case(conditions: Sequence[str]) -> str:
        return "CASE " + " ".join(f"WHEN {c} THEN {i}" for i, c in enumerate(conditions)) + " END"

    def _locate_filter(self, name: str, entry: TableMapping, source: str, error: duckdb.Error) -> Exception:
        """The filter whose condition fails on the data (a conversion error, say)."""
        for index, rule in enumerate(entry.filters):
            if rule.when is None:
                continue
            try:
                self.connection.execute(
                    f"SELECT count(*) FROM {ident(source)} WHERE ({rule.when})"
                ).fetchone()
            except duckdb.Error as own:
                return self._fail(
                    ("tables", name, "filters", index, "when"), f"{name}: filter {rule.reason!r}", own
                )
        return self._fail(("tables", name, "filters"), f"{name}: filters", error)

    # -- 3./4. grouping and columns ----------------------------------------------------------

    def _group_clause(self, name: str, entry: TableMapping, kept: str, columns: list[str]) -> str:
        for index, key in enumerate(entry.group_by):
            try:
                self.connection.execute(f"SELECT {key} FROM {ident(kept)} LIMIT 0")
            except duckdb.Error as error:
                raise self._fail(
                    ("tables", name, "group_by", index), f"{name}.group_by", error, columns, key
                ) from None
        return f" GROUP BY {', '.join(entry.group_by)}" if entry.group_by else ""

    def _select(
        self, name: str, entry: TableMapping, kept: str, into: str, columns: Sequence[ReadColumn], group: str
    ) -> None:
        items: list[tuple[str, Path_]] = []
        for column in columns:
            items.append((f"{column.value} AS {ident(value_name(column.name))}", column.reading))
            if column.raw is not None:
                items.append((f"{column.raw} AS {ident(raw_name(column.name))}", column.origin))
        row = f"min({ROW}) AS {ROW}" if group else ROW
        select = ", ".join([*(item for item, _ in items), row])
        try:
            self.connection.execute(
                f"CREATE TEMP TABLE {ident(into)} AS SELECT {select} FROM {ident(kept)}{group}"
            )
        except duckdb.Error as error:
            for item, path in items:
                try:
                    self.connection.execute(f"SELECT count(*) FROM (SELECT {item} FROM {ident(kept)}{group})")
                except duckdb.Error as own:
                    raise self._fail(path, f"{name}.{path[3]}", own) from None
            raise self._fail(("tables", name, "columns"), f"{name}.columns", error) from None

    # -- 5. sessions -------------------------------------------------------------------------

    def _sessions(self, out: str, into: str, gap_minutes: float) -> None:
        user, ts, session = (ident(value_name(c)) for c in ("user_id", "ts", "session_id"))
        gap_us = int(gap_minutes * 60_000_000)
        order = f"PARTITION BY {user} ORDER BY __t NULLS LAST, {ROW}"
        self.connection.execute(
            f"""
            CREATE TEMP TABLE {ident(into)} AS
            WITH timed AS (SELECT *, TRY_CAST({ts} AS TIMESTAMPTZ) AS __t FROM {ident(out)}),
            starts AS (
                SELECT *, CASE WHEN lag(__t) OVER w IS NULL
                    OR epoch_us(__t) - epoch_us(lag(__t) OVER w) > {gap_us} THEN 1 ELSE 0 END AS __new
                FROM timed WINDOW w AS ({order})
            )
            SELECT * EXCLUDE (__t, __new),
                CAST({user} AS VARCHAR) || ':'
                || CAST(sum(__new) OVER ({order} ROWS UNBOUNDED PRECEDING) AS VARCHAR) AS {session}
            FROM starts
            """
        )

    # -- to Arrow ----------------------------------------------------------------------------

    def _arrow(self, relation: str, spec: TableSpec) -> pa.Table:
        order = [c for c in (spec.date_column, *spec.key) if c is not None]
        by = ", ".join([*(f"{ident(value_name(c))} NULLS LAST" for c in order), ROW])
        return self.connection.sql(f"SELECT * FROM {ident(relation)} ORDER BY {by}").to_arrow_table()

    def _finish(
        self, name: str, result: pa.Table, columns: Sequence[ReadColumn]
    ) -> tuple[list[pa.Array], dict[str, int], dict[str, pa.Array]]:
        arrays: list[pa.Array] = []
        kept_as_text: dict[str, int] = {}
        typed: dict[str, pa.Array] = {}
        for column in columns:
            values = result[value_name(column.name)].combine_chunks()
            coerced, failed_text = coerce_column(values, column.target)
            failed = pc.is_valid(failed_text)
            present = pc.is_valid(values)
            if column.raw is not None:
                raw = result[raw_name(column.name)].combine_chunks()
                unread = pc.and_(pc.is_null(values), pc.is_valid(raw))
                failed_text = pc.if_else(unread, raw, failed_text)
                failed = pc.or_(failed, unread)
                present = pc.or_(present, pc.is_valid(raw))
            n_failed = pc.sum(failed).as_py() or 0
            n_present = pc.sum(present).as_py() or 0
            if n_present and n_failed == n_present:
                raise self._none_read(name, column, failed_text, n_present)
            typed[column.name] = coerced
            if n_failed:
                kept_as_text[column.name] = n_failed
                arrays.append(pc.if_else(failed, failed_text, as_text(coerced)))
            else:
                arrays.append(coerced)
        return arrays, kept_as_text, typed

    def _none_read(self, name: str, column: ReadColumn, failed_text: pa.Array, present: int) -> Exception:
        examples = pc.unique(failed_text.drop_null()).to_pylist()[:_EXAMPLES]
        shown = ", ".join(repr(v) for v in examples)
        if column.how is not None:
            detail = f"{column.how} reads none of the {present:,} values (e.g. {shown})"
        else:
            detail = f"none of the {present:,} values is a {type_name(column.target)} (e.g. {shown})"
        return self.lines.error(column.reading, f"{name}.{column.name}: {detail}")

    # -- the whole table ---------------------------------------------------------------------

    def build(self, name: str, entry: TableMapping) -> BuiltTable:
        """Build table ``name`` and register it (canonical columns) for later tables' ``from``."""
        spec = TABLES[name]
        stage = f"__vitrina_{name}"
        source, marked, kept, out, sessions = (
            f"{stage}_{s}" for s in ("in", "marked", "kept", "out", "sessions")
        )
        try:
            self._input(name, entry, source)
            columns = [c for c in self._columns(ident(source)) if c != ROW]
            read = self._count(ident(source))
            filtered = self._filter(name, entry, source, marked, columns)
            listed = ", ".join([ROW, *(ident(c) for c in columns)])
            self.connection.execute(
                f"CREATE TEMP TABLE {ident(kept)} AS "
                f"SELECT {listed} FROM {ident(marked)} WHERE {REASON} IS NULL"
            )
            remaining = self._count(ident(kept))
            group = self._group_clause(name, entry, kept, columns)
            planned = []
            nulls = []
            for field_ in spec.schema:
                if field_.name == "session_id" and entry.sessions is not None:
                    continue
                if field_.name not in entry.columns:
                    nulls.append(field_.name)
                given = entry.columns.get(field_.name)
                planned.append(self.reader.read_column(name, field_, given, kept, group, columns))
            self._select(name, entry, kept, out, planned, group)
            final = out
            if entry.sessions is not None:
                self._sessions(out, sessions, entry.sessions.gap_minutes)
                final = sessions
                planned.append(
                    ReadColumn(
                        "session_id",
                        pa.string(),
                        "",
                        None,
                        ("tables", name, "sessions"),
                        ("tables", name, "sessions"),
                        None,
                    )
                )
            result = self._arrow(final, spec)
            arrays, kept_as_text, typed = self._finish(name, result, planned)
            by_name = dict(zip([c.name for c in planned], arrays, strict=True))
            data = pa.Table.from_arrays([by_name[f] for f in spec.schema.names], names=spec.schema.names)
            days = None
            if spec.date_column is not None:
                days = pc.cast(pc.cast(typed[spec.date_column], pa.timestamp("us", tz="UTC")), pa.date32())
            counts = TableCounts(
                read=read,
                written=data.num_rows,
                filtered=filtered,
                merged=remaining - data.num_rows,
                merged_label=f"merged (same {', '.join(entry.group_by)})" if entry.group_by else None,
            )
            if not counts.reconciles or (not entry.group_by and counts.merged):
                raise AssertionError(f"{name}: rows do not reconcile: {counts}")
            self._register(name, data)
        finally:
            self._drop(source, marked, kept, out, sessions)
        return BuiltTable(name, data, days, counts, kept_as_text, tuple(nulls))

    def _register(self, name: str, data: pa.Table) -> None:
        view = f"__vitrina_arrow_{name}"
        self.connection.register(view, data)
        try:
            self.connection.execute(f"CREATE TABLE {ident(name)} AS SELECT * FROM {ident(view)}")
        finally:
            self.connection.unregister(view)
