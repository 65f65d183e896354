"""The import mapping file as data: its sources, tables, columns and filters (a pydantic model).

What each key means is in ``docs/reference/import-mapping.md``; reading a file into this model,
with every error on its line, is :mod:`vitrina.adapters.ingest.mapping`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
FORMATS = ("csv", "parquet", "jsonl", "postgres")
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".jsonl": "jsonl"}
_EXTENSIONS |= {".ndjson": "jsonl", ".json": "jsonl"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CsvSource(_Strict):
    """Delimited text files."""

    format: Literal["csv"]
    path: str = Field(min_length=1)
    delimiter: str | None = Field(default=None, min_length=1)
    encoding: str = "utf-8"
    decimal: Literal[".", ","] = "."
    header: bool = True
    quote: str | None = Field(default=None, min_length=1, max_length=1)
    null: list[str] = Field(default_factory=list)
    skip_rows: int = Field(default=0, ge=0)
    types: dict[str, str] = Field(default_factory=dict)
    union_by_name: bool = False

    @model_validator(mode="before")
    @classmethod
    def _null_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("null"), str):
            return {**data, "null": [data["null"]]}
        return data


class ParquetSource(_Strict):
    """Parquet files."""

    format: Literal["parquet"]
    path: str = Field(min_length=1)


class JsonLinesSource(_Strict):
    """One JSON object per line."""

    format: Literal["jsonl"]
    path: str = Field(min_length=1)


class PostgresSource(_Strict):
    """The rows of one query against PostgreSQL (read-only)."""

    format: Literal["postgres"]
    url: str = Field(min_length=1)
    query: str = Field(min_length=1)


FileSource = CsvSource | ParquetSource | JsonLinesSource
Source = Annotated[
    CsvSource | ParquetSource | JsonLinesSource | PostgresSource, Field(discriminator="format")
]
Scalar = str | bool | int | float


class ColumnSpec(_Strict):
    """One canonical column in its long form: where the value comes from, then how it is read."""

    column: str | None = Field(default=None, min_length=1)
    sql: str | None = Field(default=None, min_length=1)
    constant: Scalar | None = None
    format: str | None = Field(default=None, min_length=1)
    timezone: str | None = Field(default=None, min_length=1)
    cast: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnSpec:
        given = [key for key in ("column", "sql", "constant") if key in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("give exactly one of column, sql or constant")
        if "constant" in given and (self.format or self.timezone or self.cast):
            raise ValueError("a constant takes no format, timezone or cast")
        return self

    @property
    def is_constant(self) -> bool:
        return "constant" in self.model_fields_set


ColumnValue = ColumnSpec | Scalar | None


class Filter(_Strict):
    """Rows to leave out, counted under ``reason``."""

    reason: str = Field(min_length=1)
    when: str | None = Field(default=None, min_length=1)
    duplicates: bool | list[str] | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> Filter:
        if (self.when is None) == (self.duplicates is None):
            raise ValueError("give exactly one of when or duplicates")
        if self.duplicates is False or self.duplicates == []:
            raise ValueError("duplicates must be true or a list of columns")
        return self


class Sessions(_Strict):
    """``session_id`` from time gaps: a user's next row more than ``gap_minutes`` later starts one."""

    gap_minutes: float = Field(gt=0)


class TableMapping(_Strict):
    """How one canonical table is built."""

    from_: str | None = Field(default=None, alias="from", min_length=1)
    sql: str | None = Field(default=None, min_length=1)
    filters: list[Filter] = Field(default_factory=list)
    group_by: list[str] = Field(default_factory=list)
    columns: dict[str, ColumnValue] = Field(default_factory=dict)
    sessions: Sessions | None = None

    @model_validator(mode="after")
    def _one_input(self) -> TableMapping:
        if (self.from_ is None) == (self.sql is None):
            raise ValueError("give exactly one of from or sql")
        return self


class Mapping(_Strict):
    """One mapping file."""

    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    root: str = "."
    sources: dict[str, Source] = Field(default_factory=dict)
    tables: dict[str, TableMapping] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _infer_formats(cls, data: Any) -> Any:
        """A file source's format may be left out when its extension says it."""
        if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
            return data
        sources = {}
        for name, source in data["sources"].items():
            if isinstance(source, dict) and "format" not in source and isinstance(source.get("path"), str):
                suffix = Path(source["path"]).suffix.lower()
                if suffix in _EXTENSIONS:
                    source = {"format": _EXTENSIONS[suffix], **source}
            sources[name] = source
        return {**data, "sources": sources}
