"""`vitrina train search --incremental`: a new index version that re-embeds only what changed.

The daily re-index of docs/spec.md §4.7. It keeps the current version's models (encoder, ranker)
and query understanding, reads the validated catalog, and asks
:func:`~vitrina.adapters.models.index_versions.plan_reindex` which products are new or changed since the
current version's watermark (or whose text changed); only those are encoded. BM25 and
HNSW are rebuilt from the merged texts and embeddings (seconds), signals are recomputed as
of now, and the new version is switched to blue-green. The full ``vitrina train search``
retrains everything instead.

The new version keeps the current one's language with its query understanding: BM25 is
analysed as its queries will be, whatever the shop file says now (a new language takes a
full retrain).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from vitrina.adapters.home_lock import holds_home_lock
from vitrina.adapters.lake.local_copies import fresh_staging
from vitrina.adapters.models.index_versions import (
    assemble_embeddings,
    finish_version,
    next_version,
    plan_reindex,
    switch_to,
    version_folder,
)
from vitrina.adapters.models.search_index import (
    BM25,
    SEMANTIC,
    SIGNALS,
    SUGGEST,
    UNDERSTANDING,
    build_suggest,
    load_version,
    local_model,
)
from vitrina.config import Settings
from vitrina.core.search.lexical import BM25Index
from vitrina.core.search.product_text import catalog_texts
from vitrina.core.search.products import ProductTable
from vitrina.core.search.semantic.encoder import Precision, encode_products
from vitrina.core.search.semantic.index import SemanticIndex
from vitrina.pipelines.search.corpus import read_search_inputs
from vitrina.pipelines.search.signals import compute_signals


def product_precision(meta: dict[str, Any]) -> Precision:
    """The precision a version's product vectors were computed at (versions that do not
    say were built with the fp32 graph): new vectors must match the reused ones."""
    precision = meta.get("product_precision", "fp32")
    if precision not in ("int8", "fp32"):
        raise ValueError(f"version.json names an unknown product precision {precision!r}")
    return cast(Precision, precision)


@dataclass(frozen=True)
class Reindex:
    """What an incremental re-index did."""

    previous: str
    version: str
    n_products: int
    n_embedded: int
    n_removed: int


@holds_home_lock
def reindex_search(settings: Settings, *, switch: bool = True, now: pd.Timestamp | None = None) -> Reindex:
    """Build the next index version from the current one (see the module docstring)."""
    current = load_version(settings)
    products = ProductTable.from_catalog(read_search_inputs(settings).catalog)
    texts = catalog_texts(products.frame)
    old = current.products.frame
    watermark = pd.Timestamp(current.meta["watermark"]) if current.meta.get("watermark") else None
    precision = product_precision(current.meta)
    plan = plan_reindex(products.frame, old, watermark, pd.Series(texts), pd.Series(catalog_texts(old)))
    fresh = (
        encode_products(
            [texts[i] for i in plan.to_embed],
            onnx_dir=local_model(settings, current.meta["onnx"]),
            precision=precision,
        )
        if plan.to_embed.size
        else np.zeros((0, current.semantic.dim), dtype=np.float32)
    )
    embeddings = assemble_embeddings(plan, current.semantic.embeddings, fresh)
    as_of = now if now is not None else pd.Timestamp.now(tz="UTC")
    signals = compute_signals(settings, products, as_of, current.understanding.analyzer.normalise)
    name = next_version(settings)
    folder = str(fresh_staging(settings, version_folder(settings, name)))  # the lake folder when local
    products.save(folder)
    current.understanding.save(Path(folder) / UNDERSTANDING)
    BM25Index.build(products.product_ids.tolist(), texts, language=current.language).save(Path(folder) / BM25)
    SemanticIndex.build(embeddings).save(Path(folder) / SEMANTIC)
    signals.save(f"{folder}/{SIGNALS}")
    build_suggest(products, signals, current.understanding).save(Path(folder) / SUGGEST)
    removed = int((~old["product_id"].isin(products.frame["product_id"])).sum())
    finish_version(
        settings,
        name,
        {
            **{k: current.meta[k] for k in ("run_id", "model_version", "encoder", "onnx", "ranker")},
            "language": current.language,
            **{k: current.meta[k] for k in ("served_mode", "fusion") if k in current.meta},
            "parent": current.name,
            "n_products": len(products),
            "n_embedded": int(plan.to_embed.size),
            "product_precision": precision,
            "n_removed": removed,
            "watermark": None if plan.watermark is None else plan.watermark.isoformat(),
            "signals_as_of": signals.as_of.isoformat(),
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
        },
    )
    if switch:
        switch_to(settings, name, reason=f"incremental re-index of {current.name}")
    return Reindex(current.name, name, len(products), int(plan.to_embed.size), removed)
