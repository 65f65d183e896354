"""The raw files one import owns, and how a new set replaces the old one without a half-set ever
being read.

**Ownership by name.** An import called ``shop`` owns, in every ``raw/<table>/dt=…/`` partition,
exactly the files named ``import-shop.parquet`` (its rows of that day; the whole table for
snapshots such as the catalog) and ``import-shop.undated.parquet`` (rows of a dated table whose
date did not convert: validation quarantines them). Names of imports have no dots, so two imports
never own one file, and files dropped in by hand or written by other ingestion are never touched.

**Idempotent.** A file whose content would not change is not rewritten: a manifest
(``state/import/<name>.json``) keeps each file's content digest and size, and without a fitting
record the Parquet bytes are compared (the same rows give the same bytes). Snapshot and undated
files keep their partition while unchanged; a changed one goes to today's. Re-importing the same
inputs therefore changes nothing, and re-importing more replaces the import's files of each table
as a whole: files of days (or tables) the new set no longer has are removed.

**Atomic as a set.** The new and changed files are first written into a hidden staging folder
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
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from vitrina.adapters.lake.paths import LakePaths
from vitrina.core.artifacts.files import filesystem, read_json, write_json_atomic
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


def owned_files(lake: LakePaths, table: str, name: str) -> dict[str, int]:
    """The files of ``raw/<table>/`` import ``name`` owns (relative to the table's folder) and
    their sizes in bytes."""
    fs, root = filesystem(lake.table("raw", table))
    if not fs.exists(root):
        return {}
    names = set(owned_names(name))
    found = {_relative(root, p): int(info.get("size") or 0) for p, info in fs.find(root, detail=True).items()}
    return {r: size for r, size in sorted(found.items()) if _visible(r) and r.rsplit("/", 1)[-1] in names}


def content_digest(rows: pa.Table) -> str:
    """SHA-256 of ``rows`` as an Arrow IPC stream: what the manifest remembers of a file's
    content, fifty times cheaper than writing the Parquet file to compare bytes."""
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


@dataclass(frozen=True)
class _Target:
    relative: str
    digest: str
    rows: pa.Table


def _locate(
    planned: Iterable[PlannedFile], existing: dict[str, int], known: dict[str, Any], today: dt.date
) -> list[_Target]:
    """Where each planned file goes. A file without a day stays where the manifest says the same
    content already lies, else goes to today's partition."""
    targets = []
    for item in planned:
        digest = content_digest(item.rows)
        if item.day is not None:
            relative = f"dt={item.day.isoformat()}/{item.file_name}"
        else:
            same = [
                r
                for r in existing
                if r.endswith(f"/{item.file_name}") and known.get(r, {}).get("digest") == digest
            ]
            relative = same[0] if same else f"dt={today.isoformat()}/{item.file_name}"
        targets.append(_Target(relative, digest, item.rows))
    return targets


def _unchanged(fs: Any, path: str, size: int | None, record: dict[str, Any] | None, target: _Target) -> bool:
    """Whether the file at ``path`` already holds ``target``: by the manifest's record of it,
    else (no record, or one that does not fit) by comparing the bytes."""
    if size is None:
        return False
    if record is not None and record.get("digest") == target.digest and record.get("size") == size:
        return True
    return bool(fs.cat_file(path) == parquet_bytes(target.rows))


def _flat(relative: str) -> str:
    """A staged file's name: its path under the table, flattened (one staging folder per table)."""
    return relative.replace("/", "~")


def _stage(lake: LakePaths, table: str, name: str, relative: str, payload: bytes) -> None:
    """Write one new file into the hidden staging folder. No temporary name is needed: a staged
    file counts only once the journal that lists it is written, after every staged file."""
    fs, folder = filesystem(staging_folder(lake, table, name))
    fs.makedirs(folder, exist_ok=True)
    with fs.open(f"{folder}/{_flat(relative)}", "wb") as handle:
        handle.write(payload)


def _apply(lake: LakePaths, journal: dict[str, Any]) -> None:
    """Carry out a committed journal; every step may already have been done (a re-run)."""
    for table, steps in journal["tables"].items():
        fs, root = filesystem(lake.table("raw", table))
        staging = filesystem(staging_folder(lake, table, journal["name"]))[1]
        for relative in steps["moves"]:
            staged, final = f"{staging}/{_flat(relative)}", f"{root}/{relative}"
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


def manifest_url(lake: LakePaths, name: str) -> str:
    return f"{lake.layer('state')}/import/{name}.json"


def replace_owned_files(
    lake: LakePaths, name: str, planned: dict[str, list[PlannedFile]], today: dt.date
) -> dict[str, FileChanges]:
    """Make import ``name``'s files of every canonical table exactly ``planned`` (a table not in
    ``planned`` keeps none), atomically as a set (see the module docstring)."""
    finish_pending_imports(lake)
    manifest = read_json(manifest_url(lake, name)) or {}
    records: dict[str, dict[str, Any]] = manifest.get("tables", {})
    changes: dict[str, FileChanges] = {}
    journal: dict[str, Any] = {"name": name, "tables": {}}
    kept: dict[str, dict[str, Any]] = {}
    for table in TABLES:
        existing = owned_files(lake, table, name)
        if table not in planned and not existing:
            continue
        fs, root = filesystem(lake.table("raw", table))
        known = records.get(table, {})
        change = FileChanges()
        kept[table] = {}
        for target in _locate(planned.get(table, []), existing, known, today):
            path = f"{root}/{target.relative}"
            if _unchanged(fs, path, existing.get(target.relative), known.get(target.relative), target):
                change.unchanged.append(target.relative)
                size = existing[target.relative]
            else:
                payload = parquet_bytes(target.rows)
                _stage(lake, table, name, target.relative, payload)
                change.written.append(target.relative)
                size = len(payload)
            kept[table][target.relative] = {"digest": target.digest, "size": size}
        placed = set(kept[table])
        change.removed = [r for r in existing if r not in placed]
        changes[table] = change
        if change.written or change.removed:
            journal["tables"][table] = {"moves": change.written, "removes": change.removed}
    if journal["tables"]:
        url = journal_url(lake, name)
        write_json_atomic(journal, url)  # the commit: from here on the new set is what counts
        _apply(lake, journal)
        fs, path = filesystem(url)
        fs.rm(path)
    if journal["tables"] or kept != records:
        write_json_atomic({"name": name, "tables": kept}, manifest_url(lake, name))
    return changes
