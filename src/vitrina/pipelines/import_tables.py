"""``vitrina data import MAPPING.yaml``: a shop's own files into the canonical tables of ``raw/``.

Order (docs/reference/import-mapping.md):

1. read and check the mapping (YAML, keys, canonical names, columns each table must give);
2. read every source into an in-memory DuckDB database;
3. build every table in the order written (:mod:`vitrina.adapters.ingest.table_builder`);
4. only when all of that succeeded, replace the import's files under ``raw/`` as one set
   (:mod:`vitrina.adapters.ingest.owned_files`) and write the report.

A mistake in the mapping therefore fails before anything is written, with one message naming its
line. The report says per table how many rows were read, written, filtered (by reason) and merged
— ``read = written + filtered + merged`` exactly — and is kept as JSON in
``reports/import/<name>/latest.json``. The next step is ``vitrina data validate``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Group
from rich.table import Table

from vitrina.adapters.home_lock import holds_home_lock
from vitrina.adapters.ingest.duck_sql import literal
from vitrina.adapters.ingest.mapping import LoadedMapping, MappingError, load_mapping
from vitrina.adapters.ingest.owned_files import FileChanges, plan_files, replace_owned_files
from vitrina.adapters.ingest.sources import SourceRead, read_sources
from vitrina.adapters.ingest.table_builder import BuiltTable, TableBuilder, TableCounts
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_json_atomic

__all__ = ["ImportResult", "MappingError", "TableImport", "import_mapping", "report_url"]


@dataclass(frozen=True)
class TableImport:
    """One table of an import: where its rows went and what happened to its files."""

    name: str
    counts: TableCounts
    kept_as_text: dict[str, int]
    null_columns: tuple[str, ...]
    files: FileChanges

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.counts.to_dict(),
            "kept_as_text": dict(self.kept_as_text),
            "null_columns": list(self.null_columns),
            "files": self.files.to_dict(),
        }


@dataclass(frozen=True)
class ImportResult:
    """What one ``vitrina data import`` did."""

    name: str
    mapping: str
    root: str
    imported_at: dt.datetime
    seconds: float
    sources: tuple[SourceRead, ...]
    tables: tuple[TableImport, ...]
    removed_tables: tuple[str, ...] = ()

    def table(self, name: str) -> TableImport:
        return next(t for t in self.tables if t.name == name)

    @property
    def changed(self) -> bool:
        return any(t.files.written or t.files.removed for t in self.tables) or bool(self.removed_tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mapping": self.mapping,
            "root": self.root,
            "imported_at": self.imported_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "sources": [s.to_dict() for s in self.sources],
            "tables": {t.name: t.to_dict() for t in self.tables},
            "removed_tables": list(self.removed_tables),
        }

    def render(self) -> Group:
        """Per table: read, written, each filter reason, merged; then the files touched."""
        view = Table(title=f"import {self.name} ({self.seconds:.1f} s)", title_justify="left")
        for column in ("table", "read", "written", "filtered / merged", "rows", "files"):
            view.add_column(column, justify="right" if column in ("read", "written", "rows") else "left")
        for item in self.tables:
            counts, files = item.counts, item.files
            written, unchanged, removed = len(files.written), len(files.unchanged), len(files.removed)
            changes = f"{written} written, {unchanged} unchanged, {removed} removed"
            lines = [(reason, n) for reason, n in counts.filtered.items()]
            if counts.merged_label is not None:
                lines.append((counts.merged_label, counts.merged))
            first = lines[0] if lines else ("", None)
            view.add_row(
                item.name,
                f"{counts.read:,}",
                f"{counts.written:,}",
                first[0],
                "" if first[1] is None else f"{first[1]:,}",
                changes,
            )
            for reason, n in lines[1:]:
                view.add_row("", "", "", reason, f"{n:,}", "")
        notes = []
        for item in self.tables:
            for column, n in item.kept_as_text.items():
                notes.append(
                    f"[yellow]{item.name}.{column}: {n:,} values did not convert and are kept as text "
                    "(validation quarantines those rows)[/]"
                )
            if item.null_columns:
                notes.append(
                    f"{item.name}: written null (not mapped, allowed): {', '.join(item.null_columns)}"
                )
        if self.removed_tables:
            notes.append(f"files of this import removed from: {', '.join(self.removed_tables)}")
        notes.append("nothing changed in raw/" if not self.changed else "next: vitrina data validate")
        return Group(view, *notes)


def report_url(lake: LakePaths, name: str) -> str:
    """Where the latest report of import ``name`` is kept."""
    return f"{lake.table('reports', 'import')}/{name}/latest.json"


def _build(
    mapping_path: Path, data_dir: Path | None
) -> tuple[LoadedMapping, dict[str, SourceRead], list[BuiltTable]]:
    """Everything in memory: the checked mapping, its sources and its tables (nothing written)."""
    loaded = load_mapping(mapping_path, data_dir)
    with tempfile.TemporaryDirectory(prefix="vitrina-import-") as scratch, duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET enable_progress_bar = false")
        connection.execute(f"SET temp_directory = {literal(str(Path(scratch) / 'spill'))}")  # not the cwd
        sources = read_sources(connection, loaded, Path(scratch))
        # One thread: parallel aggregation sums floats in a varying order and breaks ties
        # (mode, any_value) by whichever thread came first; the same inputs must give the same bytes.
        connection.execute("SET threads = 1")
        builder = TableBuilder(connection, loaded.lines)
        built = [builder.build(name, entry) for name, entry in loaded.mapping.tables.items()]
    return loaded, sources, built


@holds_home_lock
def import_mapping(
    settings: Settings, mapping_path: Path, *, data_dir: Path | None = None, today: dt.date | None = None
) -> ImportResult:
    """Run the mapping at ``mapping_path`` into ``settings``' lake and return what it did.

    ``data_dir`` replaces the mapping's ``root``; ``today`` (UTC) is the partition of snapshot
    files that changed. Raises :class:`MappingError` (``file:line: …``) before writing anything.
    """
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    loaded, sources, built = _build(mapping_path, data_dir)
    name = loaded.mapping.name
    lake = LakePaths(settings.lake)
    planned = {table.name: plan_files(name, table.data, table.days) for table in built}
    changes = replace_owned_files(lake, name, planned, today or now.date())
    tables = tuple(
        TableImport(table.name, table.counts, table.kept_as_text, table.null_columns, changes[table.name])
        for table in built
    )
    result = ImportResult(
        name=name,
        mapping=str(mapping_path),
        root=str(loaded.root),
        imported_at=now,
        seconds=time.perf_counter() - started,
        sources=tuple(sources.values()),
        tables=tables,
        removed_tables=tuple(t for t, c in changes.items() if t not in planned and c.removed),
    )
    write_json_atomic(result.to_dict(), report_url(lake, name))
    return result
