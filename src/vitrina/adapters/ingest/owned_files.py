"""The raw files one import owns, and how a new set replaces the old one without a half-set ever
being read.

**Ownership by name.** An import called ``shop`` owns, in every ``raw/<table>/dt=…/`` partition,
exactly the files named ``import-shop.parquet`` (its rows of that day; the whole table for
snapshots such as the catalog) and ``import-shop.undated.parquet`` (rows of a dated table whose
date did not convert: validation quarantines them). Names of imports have no dots, so two imports
never own one file, and files dropped in by hand or written by other ingestion are never touched.

**Idempotent.** A file whose bytes would not change is not rewritten (Parquet output of the same
rows is byte-identical); snapshot and undated files keep their partition while unchanged, and a
changed one goes to today's. Re-importing the same inputs therefore changes nothing, and
re-importing more replaces the import's files of each table as a whole: files of days (or
tables) the new set no longer has are removed.

**Atomic as a set.** The new and changed files are first written under a hidden staging folder
``raw/<table>/_import-<name>.staging/`` (names starting with ``_`` are invisible to every raw
reader). Then a journal ``state/import/<name>.pending.json`` listing every move and removal is
written atomically: that is the commit. Only then are staged files renamed into place and old
ones removed, and the journal deleted. A crash before the commit leaves the old set (the staging
is cleaned on the next run); a crash after it is rolled forward by :func:`finish_pending_imports`,
which every import and every validation runs first, under the home lock — so a reader never sees
half of a set.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vitrina.adapters.lake.paths import LakePaths
from vitrina.core.artifacts.files import filesystem, read_json, write_bytes_atomic, write_json_atomic
from vitrina.core.tables import TABLES

PREFIX = "import-"
UNDATED = ".undated"
JOURNAL_SUFFIX = ".pending.json"


def owned_names(name: str) -> tuple[str, str]:
    """The file names import ``name`` owns: its rows of a partition, and its undated rows."""
    return f"{PREFIX}{name}.parquet", f"{PREFIX}{name}{UNDATED}.parquet"


def staging_folder(lake: LakePaths, table: str, name: str) -> str:
    return f"{lake.table('raw', table)}/_import-{name}.staging"


def journal_url(lake: LakePaths, name: str) -> str:
    return f"{lake.layer('state')}/import/{name}{JOURNAL_SUFFIX}"


@dataclass(frozen=True)
class PlannedFile:
    """One file of an import: its partition day (None: today's, or where it already lies) and rows."""

    day: dt.date | None
    file_name: str
    rows: pa.Table


@dataclass
class FileChanges:
    """What replacing one table's files did (paths relative to ``raw/<table>/``)."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"written": len(self.written), "unchanged": len(self.unchanged), "removed": len(self.removed)}


def plan_files(name: str, rows: pa.Table, days: pa.Array | None) -> list[PlannedFile]:
    """Split ``rows`` into the files import ``name`` writes: one per day of ``days`` (rows sorted
    by day, nulls last, as the table builder leaves them), undated rows apart; one file for a
    snapshot table (``days`` None)."""
    dated_name, undated_name = owned_names(name)
    if days is None:
        return [PlannedFile(None, dated_name, rows)]
    if rows.num_rows == 0:
        return []
    numbers = days.cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.float64)  # NaN for null
    order = np.argsort(numbers, kind="stable")  # NaN sorts last
    rows, days = rows.take(pa.array(order)), days.take(pa.array(order))
    values = numbers[order]
    null = np.isnan(values)
    planned: list[PlannedFile] = []
    start = 0
    n_dated = int((~null).sum())
    while start < n_dated:
        end = int(np.searchsorted(values[:n_dated], values[start], side="right"))
        planned.append(PlannedFile(days[start].as_py(), dated_name, rows.slice(start, end - start)))
        start = end
    if n_dated < rows.num_rows:
        planned.append(PlannedFile(None, undated_name, rows.slice(n_dated)))
    return planned


def parquet_bytes(rows: pa.Table) -> bytes:
    """The Parquet file of ``rows`` (the same rows give the same bytes)."""
    buffer = io.BytesIO()
    pq.write_table(rows, buffer, compression="zstd")
    return buffer.getvalue()


def _relative(root: str, path: str) -> str:
    return path[len(root) :].lstrip("/")


def _visible(relative: str) -> bool:
    return not any(part.startswith((".", "_")) for part in relative.split("/") if part)


def owned_files(lake: LakePaths, table: str, name: str) -> list[str]:
    """The files of ``raw/<table>/`` import ``name`` owns, relative to the table's folder."""
    fs, root = filesystem(lake.table("raw", table))
    if not fs.exists(root):
        return []
    names = set(owned_names(name))
    found = (_relative(root, p) for p in fs.find(root))
    return sorted(r for r in found if _visible(r) and r.rsplit("/", 1)[-1] in names)


def _targets(
    lake: LakePaths, table: str, planned: Iterable[PlannedFile], existing: list[str], today: dt.date
) -> dict[str, bytes]:
    """Relative path → bytes of every file the new set has. A file without a day stays where an
    identical one already lies, else goes to today's partition."""
    fs, root = filesystem(lake.table("raw", table))
    targets: dict[str, bytes] = {}
    for item in planned:
        payload = parquet_bytes(item.rows)
        if item.day is not None:
            targets[f"dt={item.day.isoformat()}/{item.file_name}"] = payload
            continue
        same = [r for r in existing if r.endswith(f"/{item.file_name}") and fs.cat_file(f"{root}/{r}") == payload]
        targets[same[0] if same else f"dt={today.isoformat()}/{item.file_name}"] = payload
    return targets


def _apply(lake: LakePaths, journal: dict[str, Any]) -> None:
    """Carry out a committed journal; every step may already have been done (a re-run)."""
    for table, steps in journal["tables"].items():
        fs, root = filesystem(lake.table("raw", table))
        staging = filesystem(staging_folder(lake, table, journal["name"]))[1]
        for relative in steps["moves"]:
            staged, final = f"{staging}/{relative}", f"{root}/{relative}"
            if fs.exists(staged):
                fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
                fs.mv(staged, final)
        for relative in steps["removes"]:
            if fs.exists(f"{root}/{relative}"):
                fs.rm(f"{root}/{relative}")
        for relative in steps["removes"]:
            folder = f"{root}/{relative}".rsplit("/", 1)[0]
            if folder != root and fs.exists(folder) and not fs.ls(folder):
                fs.rmdir(folder)
        if fs.exists(staging):
            fs.rm(staging, recursive=True)


def finish_pending_imports(lake: LakePaths) -> list[str]:
    """Roll forward every committed import a crash interrupted; clean staging of uncommitted ones.
    Returns the names of the imports finished."""
    fs, state = filesystem(f"{lake.layer('state')}/import")
    finished: list[str] = []
    if fs.exists(state):
        for path in sorted(fs.find(state)):
            if not path.endswith(JOURNAL_SUFFIX):
                continue
            journal = read_json(path)
            if journal is not None:
                _apply(lake, journal)
                finished.append(str(journal["name"]))
            fs.rm(path)
    for table in TABLES:
        tfs, root = filesystem(lake.table("raw", table))
        if not tfs.exists(root):
            continue
        for entry in tfs.ls(root, detail=False):
            base = entry.rstrip("/").rsplit("/", 1)[-1]
            if base.startswith("_import-") and base.endswith(".staging"):
                tfs.rm(entry, recursive=True)
    return finished


def replace_owned_files(
    lake: LakePaths, name: str, planned: dict[str, list[PlannedFile]], today: dt.date
) -> dict[str, FileChanges]:
    """Make import ``name``'s files of every canonical table exactly ``planned`` (a table not in
    ``planned`` keeps none), atomically as a set (see the module docstring)."""
    finish_pending_imports(lake)
    changes: dict[str, FileChanges] = {}
    journal: dict[str, Any] = {"name": name, "tables": {}}
    for table in TABLES:
        existing = owned_files(lake, table, name)
        if table not in planned and not existing:
            continue
        fs, root = filesystem(lake.table("raw", table))
        targets = _targets(lake, table, planned.get(table, []), existing, today)
        change = FileChanges()
        for relative, payload in targets.items():
            if relative in existing and fs.cat_file(f"{root}/{relative}") == payload:
                change.unchanged.append(relative)
                continue
            write_bytes_atomic(payload, f"{staging_folder(lake, table, name)}/{relative}")
            change.written.append(relative)
        change.removed = [r for r in existing if r not in targets]
        changes[table] = change
        if change.written or change.removed:
            journal["tables"][table] = {"moves": change.written, "removes": change.removed}
    if journal["tables"]:
        url = journal_url(lake, name)
        write_json_atomic(journal, url)  # the commit: from here on the new set is what counts
        _apply(lake, journal)
        fs, path = filesystem(url)
        fs.rm(path)
    return changes
