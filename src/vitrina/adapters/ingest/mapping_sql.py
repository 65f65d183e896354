"""The DuckDB connection of one mapping's build, with the errors it raises on the mapping's lines.

Every step of a table's build runs SQL written partly by the shop (conditions, expressions,
``sql`` inputs); a failure must point at the mapping line that wrote it, so the helpers that run
SQL and turn DuckDB's errors into mapping errors live together here.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from vitrina.adapters.ingest.duck_sql import ident, short_error
from vitrina.adapters.ingest.mapping import MappingLines, Path_

ROW = "__vitrina_row"
"""Each input row's read position: it decides "the first" of duplicates and the order of groups."""


class MappingSql:
    """Runs a mapping's SQL on one connection and reports failures on the mapping's lines."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, lines: MappingLines) -> None:
        self.connection = connection
        self.lines = lines

    def _count(self, relation: str) -> int:
        row = self.connection.execute(f"SELECT count(*) FROM {relation}").fetchone()
        return int(row[0]) if row else 0

    def _columns(self, relation: str) -> list[str]:
        return [row[0] for row in self.connection.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]

    def _type(self, query: str) -> str:
        rows = self.connection.execute(f"DESCRIBE {query}").fetchall()
        return str(rows[0][1])

    def _fail(
        self,
        path: Path_,
        what: str,
        error: duckdb.Error,
        columns: Sequence[str] = (),
        expression: str | None = None,
    ) -> Exception:
        """The mapping error for ``error``; a syntax error in ``expression`` is reported on the
        expression alone, so its "near …" points into the author's text, not the query around it."""
        if expression is not None and isinstance(error, duckdb.ParserException):
            try:
                self.connection.extract_statements(f"SELECT {expression}")
            except duckdb.ParserException as own:
                error = own
            return self.lines.error(path, f"{what}: not a valid SQL expression: {short_error(error)}")
        return self.lines.error(path, f"{what}: {short_error(error, columns)}")

    def _drop(self, *names: str) -> None:
        for name in names:
            self.connection.execute(f"DROP TABLE IF EXISTS {ident(name)}")
