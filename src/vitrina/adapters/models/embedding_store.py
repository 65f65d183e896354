"""Where a home keeps its product-vector caches, and the catalog embedding that reads them.

One safetensors file per encoder under ``<lake>/models/search/embedding-cache/`` (under
``<home>/cache/embedding-cache/`` when the lake is remote), named by
the encoder's id (:func:`~vitrina.core.search.semantic.encoder.product_encoder_id`), holding
``keys`` (text digests) and ``vectors``; written to a temporary name and renamed. A missing
or unreadable file is an empty cache (the catalog is embedded afresh), never an error: the
cache only saves time.

Every run with search logs fine-tunes a new encoder, whose cache no later run reads, so
only the :data:`KEEP_ENCODERS` caches used last are kept.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from safetensors import SafetensorError

from vitrina.adapters.lake.local_copies import is_remote
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.arrays import load_arrays, save_arrays
from vitrina.core.search.semantic.embedding_cache import CachedEmbedding, EmbeddingCache, embed_with_cache
from vitrina.core.search.semantic.encoder import Precision, encode_products, product_encoder_id

KEEP_ENCODERS = 3
SUFFIX = ".safetensors"

log = logging.getLogger(__name__)


def cache_folder(settings: Settings) -> Path:
    """In the lake when it is local; under ``<home>/cache/`` on a remote lake (a cache only
    saves time, and safetensors reads a local file: it is not worth an upload per run)."""
    if is_remote(settings.lake):
        return settings.home.resolve() / "cache" / "embedding-cache"
    return Path(f"{LakePaths(settings.lake).table('models', 'search')}/embedding-cache")


def load_cache(folder: Path, encoder_id: str) -> EmbeddingCache:
    """The cache of ``encoder_id`` in ``folder`` (empty when there is none or it is unreadable)."""
    path = folder / f"{encoder_id}{SUFFIX}"
    if not path.is_file():
        return EmbeddingCache.empty(encoder_id)
    try:
        arrays = load_arrays(path)
        cache = EmbeddingCache(encoder_id, arrays["keys"], arrays["vectors"])
    except (SafetensorError, KeyError, ValueError, OSError) as error:
        log.warning("embedding cache %s unreadable (%s): embedding afresh", path, error)
        return EmbeddingCache.empty(encoder_id)
    os.utime(path)  # used: the pruning keeps it
    return cache


def save_cache(folder: Path, cache: EmbeddingCache, keep: int = KEEP_ENCODERS) -> Path:
    """Write ``cache`` and drop all but the ``keep`` caches used last."""
    path = folder / f"{cache.encoder_id}{SUFFIX}"
    save_arrays(path, {"keys": cache.keys, "vectors": cache.vectors})
    others = sorted(
        (p for p in folder.glob(f"*{SUFFIX}") if p != path), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for stale in others[keep - 1 :]:
        stale.unlink(missing_ok=True)
    return path


def embed_catalog(
    settings: Settings, texts: Sequence[str], onnx_dir: str | Path, precision: Precision = "int8"
) -> CachedEmbedding:
    """Vectors of the product ``texts`` by the export at ``onnx_dir``, encoding only the
    texts this home's cache for that encoder lacks; the cache then holds these texts."""
    folder = cache_folder(settings)
    cache = load_cache(folder, product_encoder_id(onnx_dir, precision))
    done = embed_with_cache(
        texts, lambda fresh: encode_products(fresh, onnx_dir=onnx_dir, precision=precision), cache
    )
    if done.n_embedded or len(done.cache) != len(cache):
        save_cache(folder, done.cache)
    return done
