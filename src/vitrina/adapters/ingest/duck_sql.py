"""Small pieces of DuckDB SQL the import writes: quoted names and values, and DuckDB's errors
cut down to the sentence a mapping's author needs."""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb

_KIND = re.compile(r"^[A-Za-z ]+ Error: ")
_UNKNOWN_COLUMN = re.compile(r'Referenced column "([^"]+)" not found')
_KEEP = (
    "Candidate bindings:",
    "Did you mean",
    "Original Line:",
    "file =",
    "Current file:",
    "Column with name",
)


def ident(name: str) -> str:
    """``name`` as a quoted identifier (any text, including spaces and quotes)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str | bool | int | float | None) -> str:
    """``value`` as a SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"


def unknown_column(error: duckdb.Error) -> str | None:
    """The column an expression names that its input lacks, when that is the error."""
    found = _UNKNOWN_COLUMN.search(str(error))
    return found.group(1) if found else None


def short_error(error: duckdb.Error, columns: Sequence[str] = ()) -> str:
    """DuckDB's message without the SQL echo; with ``columns``, an unknown column lists them."""
    missing = unknown_column(error)
    if missing is not None and columns:
        return f"unknown column {missing!r} (columns: {', '.join(columns)})"
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    first = _KIND.sub("", lines[0]).rstrip("!")
    extra = [line for line in lines[1:] if line.startswith(_KEEP)]
    return "; ".join([first, *extra])
