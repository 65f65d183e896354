"""Atomic writes and reads of one file at an fsspec URL (local path, ``memory://``, ``s3://``).

A model saves and loads its own files at a place its caller names, in a format only the
model knows; these primitives are all it needs of storage, so the core depends on fsspec
and nothing of the lake layout or the settings. A writer never leaves a half-written file
where a reader looks: it writes a hidden temporary sibling (``.name.<id>.tmp``) and renames
it into place, so a crash mid-write keeps the previous file and readers that skip hidden
names (as Arrow datasets and the lake readers do) never see the temporary one.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.core import split_protocol, url_to_fs

LOCAL_PROTOCOLS = (None, "file", "local")


def filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of ``url`` and the path inside it.

    A remote filesystem is opened without its listings cache: an object store's listing
    cached by one long-lived process (the API) would hide the versions another process
    wrote since, and a pointer moved by a promotion must be seen at the next read."""
    protocol, _ = split_protocol(url)
    options: dict[str, Any] = {} if protocol in LOCAL_PROTOCOLS else {"use_listings_cache": False}
    fs, path = url_to_fs(url, **options)
    return fs, path


def write_parquet_atomic(table: pa.Table, url: str) -> str:
    """Write ``table`` to ``url`` (a ``.parquet`` file path): temporary file, then rename."""
    fs, path = filesystem(url)
    folder, _, name = path.rpartition("/")
    fs.makedirs(folder, exist_ok=True)
    tmp = f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
    try:
        with fs.open(tmp, "wb") as handle:
            pq.write_table(table, handle, compression="zstd")
        fs.mv(tmp, path)
    finally:
        if fs.exists(tmp):
            fs.rm(tmp)
    return url


def write_bytes_atomic(payload: bytes, url: str) -> str:
    """Write ``payload`` to ``url`` atomically: a hidden temporary sibling, then a rename."""
    fs, path = filesystem(url)
    folder, _, name = path.rpartition("/")
    fs.makedirs(folder, exist_ok=True)
    tmp = f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
    try:
        with fs.open(tmp, "wb") as handle:
            handle.write(payload)
        fs.mv(tmp, path)
    finally:
        if fs.exists(tmp):
            fs.rm(tmp)
    return url


def write_text_atomic(text: str, url: str) -> str:
    """Write UTF-8 ``text`` to ``url`` atomically (models, reports)."""
    return write_bytes_atomic(text.encode("utf-8"), url)


def write_json_atomic(payload: Any, url: str) -> str:
    """Write JSON to ``url`` atomically (used for state such as watermarks and reports)."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=str)  # fail before touching files
    return write_text_atomic(text, url)


def read_json(url: str) -> Any | None:
    """Read JSON from ``url``; None when the file does not exist."""
    fs, path = filesystem(url)
    if not fs.exists(path):
        return None
    with fs.open(path, "r") as handle:
        return json.load(handle)
