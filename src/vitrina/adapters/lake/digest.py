"""Content hashes of lake tables: what a run was trained on, as a short reproducible id.

A table's digest is the SHA-256 over its visible Parquet files in partition order, each
contributing its path relative to the table folder and its bytes; the same files give the
same digest on any machine or fsspec backend, and any rewritten, added or removed file
changes it. Row counts come from the Parquet footers (no data is decoded); in ``raw/`` a file
whose footer cannot be read (validation quarantines it) counts no rows but its bytes are still
hashed, elsewhere it is an error (we wrote those files: unreadable means corrupt).

``dataset_version`` combines several table digests into one id: the tag a model version
carries so "which data?" has a one-word answer (docs/spec.md §5.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths, Layer
from vitrina.core.artifacts.files import filesystem

CHUNK = 1 << 20


@dataclass(frozen=True)
class TableDigest:
    """One table's content hash and shape: ``digest`` is 64 hex characters (SHA-256)."""

    layer: str
    name: str
    url: str
    digest: str
    files: int
    rows: int
    columns: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "layer": self.layer,
            "name": self.name,
            "url": self.url,
            "digest": self.digest,
            "files": self.files,
            "rows": self.rows,
            "columns": list(self.columns),
        }


def table_digest(lake: LakePaths, layer: Layer, name: str) -> TableDigest:
    """Hash every visible Parquet file of ``<layer>/<name>``; FileNotFoundError if it has none."""
    root = lake.table(layer, name)
    files = list_parquet_files(lake, layer, name)
    if not files:
        raise FileNotFoundError(f"no Parquet files under {root}: nothing to hash")
    fs, root_path = filesystem(root)
    sha = hashlib.sha256()
    rows = 0
    columns: tuple[str, ...] = ()
    for url in files:
        _, path = filesystem(url)
        sha.update(path[len(root_path) :].lstrip("/").encode())
        sha.update(b"\0")
        with fs.open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                sha.update(chunk)
        try:
            with fs.open(path, "rb") as handle:
                meta = pq.read_metadata(handle)
        except (pa.ArrowException, OSError):
            if layer != "raw":
                raise
            continue  # an unreadable raw file (validation quarantines it): hashed, no rows
        rows += meta.num_rows
        columns = columns or tuple(meta.schema.to_arrow_schema().names)
    return TableDigest(layer, name, root, sha.hexdigest(), len(files), rows, columns)


def table_digests(lake: LakePaths, layer: Layer, names: Iterable[str]) -> list[TableDigest]:
    """Digests of the tables among ``names`` that exist (absent optional tables are skipped)."""
    return [table_digest(lake, layer, name) for name in names if list_parquet_files(lake, layer, name)]


def dataset_version(digests: Sequence[TableDigest], length: int = 16) -> str:
    """One id for a set of tables: SHA-256 over their sorted (name, digest), ``length`` hex chars."""
    if not digests:
        raise ValueError("a dataset version needs at least one table digest")
    sha = hashlib.sha256()
    for item in sorted(digests, key=lambda d: (d.layer, d.name)):
        sha.update(f"{item.layer}/{item.name}={item.digest}\n".encode())
    return sha.hexdigest()[:length]
