"""Product vectors keyed by the content of their text, so an index build embeds only new text.

Embedding the catalog is the slow part of building a search index (tens of thousands of
transformer passes), while from one index version to the next most product texts do not
change. An :class:`EmbeddingCache` maps the digest of a product text (BLAKE2b, 16 bytes, of
its UTF-8 bytes) to the vector one encoder gave it; :func:`embed_with_cache` encodes only the
texts the cache lacks — each distinct text once — and returns the vectors of every text in
order together with the cache to keep for the next build.

A cache belongs to one encoder (``encoder_id``: the digest of the graph that produced its
vectors, see :func:`vitrina.core.search.semantic.encoder.product_encoder_id`), so a vector is
never reused across models or precisions. The cache kept after a build holds exactly the
texts of that build: its size follows the catalog's, and a removed product's vector leaves
with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

KEY_BYTES = 16

Float32Array = npt.NDArray[np.float32]
KeyArray = npt.NDArray[np.uint8]


def text_keys(texts: Sequence[str]) -> KeyArray:
    """``(len(texts), 16)`` uint8 digests of ``texts`` (equal texts, equal keys)."""
    keys = np.empty((len(texts), KEY_BYTES), dtype=np.uint8)
    for row, text in enumerate(texts):
        keys[row] = np.frombuffer(hashlib.blake2b(text.encode(), digest_size=KEY_BYTES).digest(), np.uint8)
    return keys


class EmbeddingCache:
    """Text digest → vector, for the encoder named ``encoder_id``."""

    def __init__(self, encoder_id: str, keys: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        key_matrix = np.ascontiguousarray(keys, dtype=np.uint8)
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if key_matrix.ndim != 2 or key_matrix.shape[1] != KEY_BYTES:
            raise ValueError(f"keys must be (n, {KEY_BYTES}) bytes, got {key_matrix.shape}")
        if matrix.ndim != 2 or matrix.shape[0] != key_matrix.shape[0]:
            raise ValueError(f"{key_matrix.shape[0]} keys for vectors of shape {matrix.shape}")
        self.encoder_id = encoder_id
        self.keys = key_matrix
        self.vectors = matrix
        self._row = {key.tobytes(): row for row, key in enumerate(key_matrix)}
        if len(self._row) != len(key_matrix):
            raise ValueError("the cache holds a key twice")

    @classmethod
    def empty(cls, encoder_id: str, dim: int = 0) -> EmbeddingCache:
        return cls(encoder_id, np.zeros((0, KEY_BYTES), np.uint8), np.zeros((0, dim), np.float32))

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def lookup(self, keys: KeyArray) -> npt.NDArray[np.int64]:
        """The cache row of each key, ``-1`` where the cache does not have it."""
        return np.fromiter((self._row.get(key.tobytes(), -1) for key in keys), np.int64, len(keys))


@dataclass(frozen=True)
class CachedEmbedding:
    """What :func:`embed_with_cache` returns: the vectors of the texts, in their order; the
    cache to keep (exactly these texts); how many distinct texts were encoded and how many
    texts took a cached vector."""

    vectors: Float32Array
    cache: EmbeddingCache
    n_embedded: int
    n_reused: int


def embed_with_cache(
    texts: Sequence[str], encode: Callable[[list[str]], Float32Array], cache: EmbeddingCache
) -> CachedEmbedding:
    """Vectors of ``texts``: cached ones copied, the others from ``encode`` (called once, on
    the distinct texts the cache lacks, or not at all)."""
    if len(texts) == 0:
        raise ValueError("no texts to embed")
    keys = text_keys(texts)
    unique_keys, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    rows = cache.lookup(unique_keys)
    missing = np.flatnonzero(rows < 0)
    missing = missing[np.argsort(first[missing], kind="stable")]  # in the order the texts came
    fresh = encode([texts[int(first[i])] for i in missing]) if missing.size else None
    dim = fresh.shape[1] if fresh is not None else cache.dim
    if fresh is not None and len(cache) and fresh.shape[1] != cache.dim:
        raise ValueError(f"the encoder gives {fresh.shape[1]}-d vectors, the cache holds {cache.dim}-d")
    unique_vectors = np.empty((len(unique_keys), dim), dtype=np.float32)
    hit = rows >= 0
    if hit.any():
        unique_vectors[hit] = cache.vectors[rows[hit]]
    if fresh is not None:
        if fresh.shape[0] != missing.size:
            raise ValueError(f"encode returned {fresh.shape[0]} vectors for {missing.size} texts")
        unique_vectors[missing] = fresh
    return CachedEmbedding(
        vectors=unique_vectors[inverse],
        cache=EmbeddingCache(cache.encoder_id, unique_keys, unique_vectors),
        n_embedded=int(missing.size),
        n_reused=int(np.count_nonzero(hit[inverse])),
    )
