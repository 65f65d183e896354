"""Index versions ``products-vN`` under the lake and the blue-green pointer between them (docs/spec.md §4.7).

Layout::

    <lake>/models/search/products-v7/      one complete, immutable index version
        products.parquet, embeddings.npy, …, version.json, MANIFEST.json   (written last)
    <lake>/state/search_index.json         {"current": "products-v7", "previous": "products-v6",
                                            "history": ["products-v6", "products-v5"], …}
    <lake>/state/search_challenger.json    {"challenger": "products-v8", …} while a registered
                                           challenger's index is served beside the current one

A version is built beside the one being served and becomes live only when the pointer file
is replaced (an atomic rename): readers see the old version or the new one, never a mix.
Only a *complete* version (one with ``version.json``) may be switched to; the previous one
stays on disk, so a rollback is one more switch.

Incremental re-indexing (:func:`plan_reindex`) compares the catalog with the current
version: products whose ``updated_at`` is past the version's watermark, or that are new, are
re-embedded; unchanged products keep their stored embeddings; removed ones are dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.adapters.lake.local_copies import discard_staging, publish, staging_path
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts import manifest
from vitrina.core.artifacts.files import filesystem, read_json, write_json_atomic

PREFIX = "products-v"
META_FILE = "version.json"
POINTER = "search_index.json"
CHALLENGER_POINTER = "search_challenger.json"
HISTORY = 10  # versions the pointer remembers as served before (the API's fallbacks)
_NAME = re.compile(rf"^{PREFIX}(\d+)$")


def versions_root(settings: Settings) -> str:
    return f"{LakePaths(settings.lake).layer('models')}/search"


def version_folder(settings: Settings, name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"index versions are named {PREFIX}N, got {name!r}")
    return f"{versions_root(settings)}/{name}"


def pointer_url(settings: Settings) -> str:
    return f"{LakePaths(settings.lake).layer('state')}/{POINTER}"


def complete_versions(settings: Settings) -> list[str]:
    """Names of complete versions (with ``version.json``), oldest first."""
    fs, root = filesystem(versions_root(settings))
    if not fs.exists(root):
        return []
    found = []
    for path in fs.ls(root, detail=False):
        name = str(path).rstrip("/").rsplit("/", 1)[-1]
        match = _NAME.match(name)
        if match and fs.exists(f"{root}/{name}/{META_FILE}"):
            found.append((int(match.group(1)), name))
    return [name for _, name in sorted(found)]


def next_version(settings: Settings) -> str:
    """A fresh name: one past the highest number on disk, complete or not (never reused)."""
    fs, root = filesystem(versions_root(settings))
    numbers = [0]
    if fs.exists(root):
        for path in fs.ls(root, detail=False):
            match = _NAME.match(str(path).rstrip("/").rsplit("/", 1)[-1])
            if match:
                numbers.append(int(match.group(1)))
    return f"{PREFIX}{max(numbers) + 1}"


def read_version_meta(settings: Settings, name: str) -> dict[str, Any]:
    meta = read_json(f"{version_folder(settings, name)}/{META_FILE}")
    if meta is None:
        raise FileNotFoundError(f"index version {name} is incomplete or missing (no {META_FILE})")
    return dict(meta)


def finish_version(settings: Settings, name: str, meta: dict[str, Any]) -> None:
    """Mark a version complete: ``version.json``, then the folder's manifest, the last file
    written (:mod:`vitrina.core.artifacts.manifest`; loading refuses a version whose files differ).

    The version's files are in :func:`~vitrina.adapters.lake.local_copies.staging_path` (the
    version folder itself on a local lake); on a remote lake they are uploaded here, the
    manifest last."""
    url = version_folder(settings, name)
    folder = str(staging_path(settings, url))  # ``url`` itself on a local lake
    write_json_atomic({"version": name, **meta}, f"{folder}/{META_FILE}")
    manifest.seal(folder)
    publish(settings, url, last=[META_FILE])
    discard_staging(settings, url)


def current_version(settings: Settings) -> str | None:
    """The version being served, or ``None`` before the first switch."""
    pointer = read_json(pointer_url(settings))
    return None if pointer is None else str(pointer["current"])


def switch_to(settings: Settings, name: str, *, reason: str = "") -> dict[str, Any]:
    """Atomically make ``name`` current (blue-green); the old current becomes ``previous``."""
    read_version_meta(settings, name)  # refuses incomplete versions
    old = read_json(pointer_url(settings)) or {}
    served = [old["current"]] if old.get("current") else []
    history = [v for v in dict.fromkeys(served + list(old.get("history", []))) if v != name]
    pointer = {
        "current": name,
        "previous": old.get("current") if old.get("current") != name else old.get("previous"),
        "history": history[:HISTORY],
        "switched_at": dt.datetime.now(dt.UTC).isoformat(),
        "reason": reason,
    }
    write_json_atomic(pointer, pointer_url(settings))
    return pointer


def served_before(settings: Settings) -> list[str]:
    """Versions that were current before the current one, most recently served first (the
    pointer's ``history``; only ``previous`` for a pointer written without one), limited to
    complete versions still on disk: where the API falls back when the current one is refused."""
    pointer = read_json(pointer_url(settings)) or {}
    names = list(pointer.get("history") or [pointer.get("previous")])
    complete = set(complete_versions(settings))
    return [str(v) for v in names if v and v != pointer.get("current") and v in complete]


def challenger_pointer_url(settings: Settings) -> str:
    return f"{LakePaths(settings.lake).layer('state')}/{CHALLENGER_POINTER}"


def challenger_version(settings: Settings) -> str | None:
    """The index version served beside the current one to an experiment's challenger arm."""
    pointer = read_json(challenger_pointer_url(settings))
    return None if not pointer or not pointer.get("challenger") else str(pointer["challenger"])


def set_challenger(settings: Settings, name: str | None, *, reason: str = "") -> dict[str, Any]:
    """Point the challenger at the complete version ``name`` (None: withdraw it); the current
    version is not touched."""
    if name is not None:
        read_version_meta(settings, name)  # refuses incomplete versions
    pointer = {"challenger": name, "switched_at": dt.datetime.now(dt.UTC).isoformat(), "reason": reason}
    write_json_atomic(pointer, challenger_pointer_url(settings))
    return pointer


def roll_back(settings: Settings, *, reason: str = "rollback") -> dict[str, Any]:
    """Switch back to the previous version."""
    pointer = read_json(pointer_url(settings))
    if not pointer or not pointer.get("previous"):
        raise RuntimeError("no previous search index version to roll back to")
    return switch_to(settings, str(pointer["previous"]), reason=reason)


@dataclass(frozen=True)
class ReindexPlan:
    """Which catalog rows to embed afresh and where the others' embeddings come from.

    Attributes:
        reuse_from: for each new-catalog row, the row of the previous version's embeddings
            to copy, or ``-1`` to re-embed.
        watermark: the newest ``updated_at`` of the new catalog (the next plan's baseline).
    """

    reuse_from: npt.NDArray[np.int64]
    watermark: pd.Timestamp | None

    @property
    def to_embed(self) -> npt.NDArray[np.int64]:
        return np.flatnonzero(self.reuse_from < 0).astype(np.int64)


def plan_reindex(
    catalog: pd.DataFrame,
    previous: pd.DataFrame | None,
    previous_watermark: pd.Timestamp | None,
    text_of: pd.Series | None = None,
    previous_text: pd.Series | None = None,
) -> ReindexPlan:
    """Plan an incremental re-index of ``catalog`` (rows in the order the new version uses)
    against the ``previous`` version's product table (``None``: embed everything).

    A product is re-embedded when it is new, when its ``updated_at`` is after the previous
    watermark, or — if texts are given — when its text differs (a catalog that edits rows
    without moving ``updated_at`` is not trusted blindly).
    """
    watermark = None if catalog.empty else pd.Timestamp(catalog["updated_at"].max())
    n = len(catalog)
    if previous is None or previous.empty:
        return ReindexPlan(np.full(n, -1, dtype=np.int64), watermark)
    ids = pd.Index(catalog["product_id"].to_numpy())
    reuse = np.asarray(pd.Index(previous["product_id"].to_numpy()).get_indexer(ids), dtype=np.int64)
    if previous_watermark is not None:
        baseline = pd.Timestamp(previous_watermark).tz_convert("UTC")
        updated = pd.to_datetime(catalog["updated_at"], utc=True) > baseline
        reuse[updated.to_numpy(dtype=bool)] = -1
    if text_of is not None and previous_text is not None:
        known = reuse >= 0
        same = np.ones(n, dtype=bool)
        same[known] = text_of.to_numpy()[known] == previous_text.to_numpy()[reuse[known]]
        reuse[~same] = -1
    return ReindexPlan(reuse, watermark)


def assemble_embeddings(
    plan: ReindexPlan, previous: npt.NDArray[np.float32] | None, fresh: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """The new version's embedding matrix: copied rows from ``previous``, ``fresh`` rows (in
    :attr:`ReindexPlan.to_embed` order) for the others."""
    to_embed = plan.to_embed
    if fresh.shape[0] != to_embed.size:
        raise ValueError(f"{fresh.shape[0]} fresh embeddings for {to_embed.size} products to embed")
    dim = fresh.shape[1] if fresh.size else (0 if previous is None else previous.shape[1])
    out = np.empty((plan.reuse_from.size, dim), dtype=np.float32)
    reuse = plan.reuse_from >= 0
    if reuse.any():
        if previous is None:
            raise ValueError("the plan reuses embeddings but no previous matrix was given")
        out[reuse] = previous[plan.reuse_from[reuse]]
    out[to_embed] = fresh
    return out
