"""Local copies of lake folders for the libraries that only open local files.

FAISS, LightGBM, ONNX Runtime, sentence-transformers, bm25s and safetensors' loaders open
files by path. On a local lake (the default) the lake path *is* that path and every function
here hands it back unchanged, so nothing is copied. On a remote lake (``s3://…``, any
non-local fsspec URL) a model or index folder is written in a local **staging** folder and
uploaded when complete (:func:`publish`), and read from a local **copy** downloaded once
(:func:`fetch`):

* Uploads put every other file first, then the files named ``last`` (``version.json``) and
  the folder's ``MANIFEST.json`` at the very end. A reader verifies a folder against its
  manifest (:mod:`vitrina.core.artifacts.manifest`), so a folder whose upload was cut short
  is refused like a half-written local one.
* A copy lives under ``<home>/cache/lake/<url hash>/<content key>/``; the content key is the
  SHA-256 of the remote ``MANIFEST.json`` (or, for a folder without one, of its listing:
  names, sizes and ETags), so a rewritten folder gets a new copy and an unchanged one is
  never downloaded twice. Downloads go to a hidden temporary sibling renamed into place, so
  two processes fetching the same version at once each see a whole copy. The
  :data:`KEEP_COPIES` copies of a URL used last are kept.

URLs recorded in metadata (``version.json`` names its encoder, ONNX export and ranker) stay
lake URLs, never local staging paths: another machine resolves them with :func:`fetch`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem
from vitrina.core.artifacts.manifest import MANIFEST_FILE

KEEP_COPIES = 3
CACHE = Path("cache") / "lake"
STAGING = Path("cache") / "lake-staging"


def is_remote(url: str | Path) -> bool:
    """Whether ``url`` is on a non-local fsspec filesystem (``s3://``, ``memory://`` …)."""
    fs, _ = filesystem(str(url))
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    return not {"file", "local"} & set(protocols)


def _as_path(url: str | Path) -> Path:
    """A local ``url`` as a path (``file://`` URLs stripped, plain paths unchanged)."""
    text = str(url)
    return Path(filesystem(text)[1]) if "://" in text else Path(text)


def _url_key(url: str) -> str:
    return hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]


def staging_path(settings: Settings, url: str | Path) -> Path:
    """Where the folder to be published at ``url`` is written: ``url`` itself when local,
    else a local folder under ``<home>/cache/lake-staging/`` (created, kept as it is)."""
    if not is_remote(url):
        return _as_path(url)
    folder = (settings.home / STAGING / _url_key(str(url))).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fresh_staging(settings: Settings, url: str | Path) -> Path:
    """:func:`staging_path` emptied first for a remote ``url`` (a new folder starts clean)."""
    folder = staging_path(settings, url)
    if is_remote(url):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    return folder


def _local_files(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder)).replace(os.sep, "/")
        for p in folder.rglob("*")
        if p.is_file() and not (p.name.startswith(".") and p.name.endswith(".tmp"))
    )


def upload_folder(
    local: Path, url: str, *, last: Iterable[str] = (), only: Iterable[str] | None = None
) -> int:
    """Copy the files of ``local`` to ``url``: others first, then ``last``, then the manifests
    (a nested folder's before the top one); ``only`` limits the upload to those relative
    paths. Returns how many files were sent."""
    fs, root = filesystem(url)
    root = root.rstrip("/")
    files = _local_files(local) if only is None else sorted(only)
    named_last = [f for f in last if f in files and f != MANIFEST_FILE]
    manifests = sorted(
        (f for f in files if f.rsplit("/", 1)[-1] == MANIFEST_FILE), key=lambda f: -f.count("/")
    )
    tail = [*named_last, *manifests]  # nested folders' manifests, then the top one, come last
    order = [f for f in files if f not in tail] + tail
    for relative in order:
        fs.put_file(str(local / relative), f"{root}/{relative}")
    return len(order)


def publish(
    settings: Settings, url: str | Path, *, last: Iterable[str] = (), only: Iterable[str] | None = None
) -> None:
    """Upload :func:`staging_path` of a remote ``url`` to it (nothing to do for a local one).

    A remote folder's old manifest is removed before the files move, so a reader never pairs
    it with a mix of old and new files."""
    if not is_remote(url):
        return
    target = str(url).rstrip("/")
    if only is None:
        fs, root = filesystem(target)
        manifest_path = f"{root.rstrip('/')}/{MANIFEST_FILE}"
        if fs.exists(manifest_path):
            fs.rm(manifest_path)
    upload_folder(staging_path(settings, target), target, last=last, only=only)


def discard_staging(settings: Settings, url: str | Path) -> None:
    """Remove the staging folder of a remote ``url`` once published (a local lake's folder is
    the lake itself: kept)."""
    if is_remote(url):
        shutil.rmtree(settings.home / STAGING / _url_key(str(url)), ignore_errors=True)


def _content_key(url: str) -> str | None:
    """The SHA-256 of the remote folder's manifest, else of its listing; None when empty."""
    fs, root = filesystem(url)
    root = root.rstrip("/")
    manifest_path = f"{root}/{MANIFEST_FILE}"
    if fs.exists(manifest_path):
        with fs.open(manifest_path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()[:24]
    if not fs.exists(root):
        return None
    found = fs.find(root, detail=True)
    listing = sorted(
        (
            str(path)[len(root) + 1 :],
            int(info.get("size") or 0),
            str(info.get("ETag") or info.get("mtime") or ""),
        )
        for path, info in found.items()
        if info.get("type") == "file"
    )
    if not listing:
        return None
    return hashlib.sha256(repr(listing).encode()).hexdigest()[:24]


def fetch(settings: Settings, url: str | Path) -> Path:
    """A local folder holding the files of ``url``: itself when local, else a cached download
    (``FileNotFoundError`` when the remote folder does not exist)."""
    if not is_remote(url):
        return _as_path(url)
    target = str(url).rstrip("/")
    key = _content_key(target)
    if key is None:
        raise FileNotFoundError(f"no folder at {target}")
    parent = (settings.home / CACHE / _url_key(target)).resolve()
    copy = parent / key
    if copy.is_dir():
        os.utime(copy)
        return copy
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{key}.{uuid.uuid4().hex}.tmp"
    fs, root = filesystem(target)
    try:
        tmp.mkdir()
        for path, info in fs.find(root.rstrip("/"), detail=True).items():
            if info.get("type") != "file":
                continue
            relative = str(path)[len(root.rstrip("/")) + 1 :]
            destination = tmp / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(str(path), str(destination))
        try:
            tmp.rename(copy)
        except OSError:  # another process put the same copy in place first
            if not copy.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(parent, keep=copy)
    return copy


def _prune(parent: Path, keep: Path) -> None:
    copies = sorted(
        (p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".") and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for stale in copies[KEEP_COPIES - 1 :]:
        shutil.rmtree(stale, ignore_errors=True)


def fetch_optional(settings: Settings, url: str | Path | None) -> Path | None:
    """:func:`fetch` for a URL that may be absent from the metadata (None stays None)."""
    return None if url is None else fetch(settings, url)
