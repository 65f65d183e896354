"""Manifests of artifact folders: the sha256 and size of every file, written last, checked first.

A model or index version is a folder of files that native libraries read (LightGBM text,
FAISS, ONNX, safetensors, bm25s arrays). Some of them abort the whole process on a malformed
file (LightGBM's ``Fatal`` is a C++ ``terminate``, out of reach of ``try/except``), so a
damaged file must be refused *before* any of them opens it. :func:`seal` writes
``MANIFEST.json`` into a folder once every file of the version is in place — the very last
file written, atomically; :func:`verify` re-hashes the folder against it and raises
:class:`ArtifactRejectedError` naming the first file that differs.

What a manifest proves, and why it is written last:

* a crash (or kill -9) while a version is written leaves a folder with no manifest, which
  :func:`verify` refuses: a version is loadable whole or not at all, never half;
* a file truncated, rewritten, garbled in place, removed or added after sealing is caught
  (a size check first, then the digest).

Folders written before manifests existed have none and are **refused** like a half-written
one, with a message saying to rebuild them: the two cases cannot be told apart from the
files, and accepting an unverified folder is exactly what lets a damaged LightGBM file kill
the API. The API then serves an older verified version or its fallback, so refusing costs
freshness, not availability; a full pipeline run writes a sealed version.

Hidden temporary files of interrupted atomic writes (``.name.<id>.tmp``) are neither
listed nor counted as extra: nothing loads them. Paths may be local or fsspec URLs.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from os import PathLike

from vitrina.core.artifacts.files import filesystem, read_json, write_json_atomic

MANIFEST_FILE = "MANIFEST.json"
FORMAT = 1
CHUNK = 1 << 20


class ArtifactRejectedError(ValueError):
    """A folder whose files are not the ones its manifest names (or that has no manifest).

    Attributes:
        folder: the refused folder.
        file: the file at fault, relative to ``folder`` (the manifest itself when it is missing).
        problem: what is wrong, in words.
    """

    def __init__(self, folder: str, file: str, problem: str) -> None:
        self.folder, self.file, self.problem = folder, file, problem
        super().__init__(f"{folder}/{file}: {problem}")


@dataclass(frozen=True)
class Verified:
    """What :func:`verify` checked: how many files and bytes, in how many seconds."""

    folder: str
    files: int
    bytes: int
    seconds: float


def _ignored(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return relative == MANIFEST_FILE or (name.startswith(".") and name.endswith(".tmp"))


def _files(folder: str) -> dict[str, int]:
    """Relative path → size of every file under ``folder`` (recursive), manifest and temps left out."""
    fs, root = filesystem(folder)
    root = root.rstrip("/")
    found = fs.find(root, detail=True)
    files = {}
    for path, info in found.items():
        if info.get("type") != "file":
            continue
        relative = str(path)[len(root) + 1 :]
        if not _ignored(relative):
            files[relative] = int(info["size"])
    return files


def file_digest(url: str) -> str:
    """SHA-256 (hex) of the file at ``url``, read in 1 MiB chunks."""
    fs, path = filesystem(url)
    digest = hashlib.sha256()
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def discard(folder: str) -> None:
    """Remove ``folder``'s manifest (before files of a sealed folder are rewritten in place)."""
    fs, root = filesystem(folder)
    path = f"{root.rstrip('/')}/{MANIFEST_FILE}"
    if fs.exists(path):
        fs.rm(path)


def seal(folder: str | PathLike[str]) -> dict[str, object]:
    """Hash every file under ``folder`` and write its manifest, atomically (call it last)."""
    root = str(folder).rstrip("/")
    files = {
        relative: {"size": size, "sha256": file_digest(f"{root}/{relative}")}
        for relative, size in sorted(_files(root).items())
    }
    if not files:
        raise ValueError(f"{root}: nothing to seal (no files)")
    manifest = {"format": FORMAT, "algorithm": "sha256", "files": files}
    write_json_atomic(manifest, f"{root}/{MANIFEST_FILE}")
    return manifest


def is_sealed(folder: str | PathLike[str]) -> bool:
    """Whether ``folder`` has a manifest (says nothing about its files: :func:`verify` does)."""
    fs, root = filesystem(str(folder))
    return bool(fs.exists(f"{root.rstrip('/')}/{MANIFEST_FILE}"))


def _listed(manifest: object) -> dict[str, tuple[int, str]] | None:
    """Relative path → (size, sha256) of a parsed manifest; None when it is not one."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None
    files = manifest.get("files")
    try:
        return {str(k): (int(v["size"]), str(v["sha256"])) for k, v in files.items()}  # type: ignore[union-attr]
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def verify(folder: str | PathLike[str]) -> Verified:
    """Check every file under ``folder`` against its manifest; :class:`ArtifactRejectedError`
    naming the file when one is missing, extra, of another size or another digest, or when
    the manifest itself is missing or unreadable (``FileNotFoundError`` when there is no
    folder at all). Sizes are checked for every file before
    any is hashed, so a truncated file is refused without reading the others."""
    started = time.perf_counter()
    root = str(folder).rstrip("/")
    fs, local = filesystem(root)
    if not fs.isdir(local):
        raise FileNotFoundError(f"no artifact folder at {root}")
    try:
        manifest = read_json(f"{root}/{MANIFEST_FILE}")
    except (ValueError, UnicodeDecodeError) as error:
        raise ArtifactRejectedError(root, MANIFEST_FILE, f"unreadable manifest ({error})") from error
    if manifest is None:
        raise ArtifactRejectedError(
            root,
            MANIFEST_FILE,
            "no manifest: the folder was not completely written, or predates manifests; "
            "rebuild it (e.g. `vitrina train search` / `vitrina train recs`)",
        )
    listed = _listed(manifest)
    if not listed:
        raise ArtifactRejectedError(root, MANIFEST_FILE, "not a vitrina manifest (format or files)")
    present = _files(root)
    for relative, (size, _) in sorted(listed.items()):
        if relative not in present:
            raise ArtifactRejectedError(root, relative, "missing (listed in the manifest)")
        if present[relative] != size:
            raise ArtifactRejectedError(
                root, relative, f"{present[relative]:,} bytes, the manifest says {size:,}"
            )
    extra = sorted(set(present) - set(listed))
    if extra:
        raise ArtifactRejectedError(root, extra[0], "not listed in the manifest (added after sealing)")
    for relative, (_, digest) in sorted(listed.items()):
        if file_digest(f"{root}/{relative}") != digest:
            raise ArtifactRejectedError(root, relative, "sha256 differs from the manifest (corrupted)")
    return Verified(root, len(listed), sum(present.values()), time.perf_counter() - started)
