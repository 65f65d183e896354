"""What sits in ``raw/``: files validation can read, files it cannot, files it does not read.

A raw file that cannot be read at all (0 bytes, truncated, not Parquet) must not abort the
validation of every table, and it must not vanish either. Validation reads every file on its
own, so such a file costs only itself: it is **copied** byte for byte to
``quarantine/<table>/_files/<its path under raw/<table>/>`` with a reason record beside it
(``<name>.reason.json``: source path, error class and message, size, when), and the rest of the
table validates. ``raw/`` is left as received — validation never writes there — so the file is
reported again by every run until someone removes or replaces it; the copy is written under the
same name each time (a re-run is idempotent) and is never deleted by validation. The ``_files``
folder is hidden from the quarantine table's readers (names starting with ``_`` are not data).

A visible file of a type the table is not read from (a ``.csv`` in ``raw/events/``, a
``notes.txt``) and anything in ``raw/`` that is not a table's folder are reported as unsupported
(they are not imported: only Parquet is read, plus curated CSV for the tables people write by
hand — synonyms and relevance judgments). Hidden names
(``.x`` temporaries of atomic writes, ``_x`` staging folders) are the lake's own and stay ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec import AbstractFileSystem

from vitrina.adapters.contracts.coerce import RawFile
from vitrina.adapters.contracts.report import FileIssue
from vitrina.adapters.lake.paths import LakePaths
from vitrina.core.artifacts.files import filesystem, write_bytes_atomic, write_json_atomic
from vitrina.core.tables import TableSpec

CSV_TABLES = frozenset({"synonyms", "judgments"})
"""Tables curated by hand (in a spreadsheet as often as not), so also read from CSV."""
FILES_FOLDER = "_files"
REASON_SUFFIX = ".reason.json"
# What a reader raises on a file it cannot parse: Arrow (ArrowInvalid is also a ValueError),
# I/O (truncated, unreadable), pandas' CSV errors and bad encodings (ValueError subclasses).
READ_ERRORS = (pa.ArrowException, OSError, ValueError)


@dataclass
class RawScan:
    """One table's raw folder: readable files in partition order, and the files it could not use."""

    files: list[RawFile] = field(default_factory=list)
    unreadable: list[FileIssue] = field(default_factory=list)
    unsupported: list[FileIssue] = field(default_factory=list)


def _visible(relative: str) -> bool:
    return not any(segment.startswith((".", "_")) for segment in relative.split("/") if segment)


def _prefix(fs: AbstractFileSystem) -> str:
    """What turns an fsspec path back into a URL (nothing for local files)."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return "" if protocol in ("file", "local") else f"{protocol}://"


def _listing(lake: LakePaths, name: str) -> list[str]:
    """The visible files under ``raw/<name>`` as URLs, sorted (partition order = time order)."""
    fs, root = filesystem(lake.table("raw", name))
    if not fs.exists(root):
        return []
    return sorted(f"{_prefix(fs)}{f}" for f in fs.find(root) if _visible(f[len(root) :]))


def _read_parquet(url: str) -> pa.Table:
    fs, path = filesystem(url)
    with fs.open(path, "rb") as handle:
        return pq.read_table(handle)


def read_csv_text(url: str) -> pa.Table:
    """A curated CSV with a header of canonical column names (synonyms: ``term,synonyms,
    category_scope``, synonyms separated by ``|``; judgments: ``query,product_id,grade,source``)
    with every column as text (empty cells are null): typing is coercion's job. UTF-8, with or
    without the byte-order mark spreadsheets write (it would otherwise rename the first column)."""
    fs, path = filesystem(url)
    with fs.open(path, "r", encoding="utf-8-sig") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    frame = frame.replace({"": None})
    return pa.Table.from_pandas(frame, preserve_index=False)


def raw_listing(lake: LakePaths, spec: TableSpec) -> list[str]:
    """The visible files of ``raw/<table>`` as URLs, in the order :func:`scan_raw` reads them."""
    urls = _listing(lake, spec.name)
    return [u for u in urls if u.endswith(".parquet")] + [u for u in urls if not u.endswith(".parquet")]


def scan_raw(lake: LakePaths, spec: TableSpec, urls: Sequence[str] | None = None) -> RawScan:
    """Read each visible file of ``raw/<table>`` (or only ``urls`` of it) on its own, sorting
    it into readable, unreadable (its error kept) or unsupported."""
    scan = RawScan()
    urls = _listing(lake, spec.name) if urls is None else list(urls)
    readers: dict[str, Callable[[str], pa.Table]] = {".parquet": _read_parquet}
    if spec.name in CSV_TABLES:
        readers[".csv"] = read_csv_text
    parquet = [u for u in urls if u.endswith(".parquet")]
    others = [u for u in urls if not u.endswith(".parquet")]
    for url in parquet + others:  # Parquet first (partition order), then curated CSV
        reader = next((r for suffix, r in readers.items() if url.endswith(suffix)), None)
        if reader is None:
            kinds = " and ".join(sorted(readers))
            scan.unsupported.append(
                FileIssue(
                    spec.name, url, "unsupported", f"not read: raw/{spec.name} is read from {kinds} files"
                )
            )
            continue
        try:
            scan.files.append(RawFile(path=url, table=reader(url)))
        except READ_ERRORS as error:
            scan.unreadable.append(
                FileIssue(spec.name, url, "unreadable", f"{type(error).__name__}: {error}")
            )
    return scan


def stray_entries(lake: LakePaths, tables: Sequence[str]) -> list[FileIssue]:
    """Visible entries of ``raw/`` that are not a table's folder (never read by anything)."""
    fs, root = filesystem(lake.layer("raw"))
    if not fs.exists(root):
        return []
    stray = []
    for entry in sorted(fs.ls(root, detail=False)):
        name = entry.rstrip("/").rsplit("/", 1)[-1]
        if name in tables or not _visible(name):
            continue
        stray.append(
            FileIssue(
                None, f"{_prefix(fs)}{entry}", "unsupported", f"not read: raw/{name} is not a table's folder"
            )
        )
    return stray


def quarantine_file(lake: LakePaths, issue: FileIssue, run_id: str, now: dt.datetime) -> FileIssue:
    """Copy an unreadable raw file to ``quarantine/<table>/_files/`` with its reason record beside
    it; the issue returned names the copy. Raw is not touched."""
    assert issue.table is not None
    _, root = filesystem(lake.table("raw", issue.table))
    fs, source = filesystem(issue.path)
    target = f"{lake.table('quarantine', issue.table)}/{FILES_FOLDER}/{source[len(root) :].lstrip('/')}"
    error, copy, payload = issue.error, None, b""
    try:
        with fs.open(source, "rb") as handle:
            payload = handle.read()
        copy = write_bytes_atomic(payload, target)
    except OSError as failure:  # not even its bytes can be read: the reason record says so
        error = f"{error} (not copied: {type(failure).__name__}: {failure})"
    record = {
        "table": issue.table,
        "source": issue.path,
        "copy": copy,
        "error": error,
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest() if copy else None,
        "run_id": run_id,
        "quarantined_at": now.isoformat(),
    }
    write_json_atomic(record, f"{target}{REASON_SUFFIX}")
    return FileIssue(issue.table, issue.path, issue.problem, error, copy=copy)
