"""Beyond-accuracy metrics of ranked lists: catalog coverage, intra-list diversity, novelty.

They need no truth, only the ranked matrix (``int64 (n_queries, k_max)``, padded with
:data:`~vitrina.core.metrics.relevance.PAD`) and per-item attributes given as arrays **indexed by
item id** (``attribute[item_id]``), i.e. item ids are dense codes ``0..n_items - 1`` of one
catalog vocabulary — the same codes the models use for their embedding rows. An id outside
``[0, n_items)`` raises ``ValueError``.

Only the first ``k`` ranks count; padding is skipped. Repeated items in a list are counted as
shown (a list showing one item twice is less diverse, and the item is seen twice).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from vitrina.core.metrics.relevance import PAD, FloatArray, IntArray, as_ranked, check_k

# Rows per chunk are chosen so that chunk x k x dim float64 stays near 32 MB.
_CHUNK_ELEMENTS = 1 << 22


def _top_items(ranked: ArrayLike, k: int, n_items: int) -> tuple[IntArray, NDArray[np.bool_]]:
    """First ``k`` columns of the validated ranked matrix and its mask of real (non-pad) items."""
    if n_items <= 0:
        raise ValueError(f"item attributes must describe at least one item, got n_items={n_items}")
    top = as_ranked(ranked)[:, : check_k(k)]
    valid = top != PAD
    if valid.any() and top.max() >= n_items:
        raise ValueError(f"item id {top.max()} is outside the {n_items} items the attributes describe")
    return top, valid


def _pairs(count: NDArray[np.int64]) -> NDArray[np.float64]:
    """Number of unordered pairs among ``count`` items."""
    return (count * (count - 1) / 2.0).astype(np.float64)


def catalog_coverage(ranked: ArrayLike, k: int, n_items: int) -> float:
    """Share of the catalog that appears in at least one top-``k`` list, in ``[0, 1]``.

    ``|∪_q top_k(q)| / n_items``. ``n_items`` is the catalog size (ids ``0..n_items - 1``);
    0.0 when nothing was recommended.
    """
    top, valid = _top_items(ranked, k, n_items)
    return float(np.unique(top[valid]).size / n_items)


def category_diversity(ranked: ArrayLike, k: int, item_categories: ArrayLike) -> FloatArray:
    """Intra-list diversity from category labels: share of item pairs in different categories.

    Per query, over the ``m`` real items of the top ``k``:
    ``ILD = 1 - #{i < j : cat_i == cat_j} / (m (m - 1) / 2)``, in ``[0, 1]``; ``NaN`` when
    ``m < 2`` (no pair to compare).

    Args:
        ranked: ``(n_queries, k_max)`` item ids padded with ``PAD``.
        k: cut-off.
        item_categories: ``(n_items,)`` non-negative integer category code per item id (e.g.
            codes of ``category_l2``).

    Returns:
        ``float64 (n_queries,)``.
    """
    labels = np.asarray(item_categories)
    if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise ValueError("item_categories must be a 1-D integer array indexed by item id")
    if labels.size and labels.min() < 0:
        raise ValueError("category codes must be >= 0")
    top, valid = _top_items(ranked, k, labels.size)
    # Padding gets a distinct negative label per column so it never matches anything.
    row_labels = np.where(valid, labels[np.where(valid, top, 0)], -1 - np.arange(top.shape[1]))
    ordered = np.sort(row_labels, axis=1)
    # In a sorted row, the j-th element equals exactly the (j - start of its run) before it.
    column = np.broadcast_to(np.arange(ordered.shape[1]), ordered.shape)
    run_start = np.ones(ordered.shape, dtype=bool)
    run_start[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    start_index = np.maximum.accumulate(np.where(run_start, column, 0), axis=1)
    same = (column - start_index).sum(axis=1).astype(np.float64)
    pairs = _pairs(valid.sum(axis=1))
    values = np.full(top.shape[0], np.nan)
    np.divide(pairs - same, pairs, out=values, where=pairs > 0)
    return values


def embedding_diversity(ranked: ArrayLike, k: int, item_embeddings: ArrayLike) -> FloatArray:
    """Intra-list diversity from embeddings: mean pairwise cosine distance ``1 - cos``.

    Per query, over the ``m`` real items of the top ``k`` with unit vectors ``u``:
    ``ILD = 1 - Σ_{i<j} u_i·u_j / (m (m - 1) / 2)``, in ``[0, 2]``; ``NaN`` when ``m < 2``.
    Computed as ``Σ_{i<j} u_i·u_j = (‖Σ_i u_i‖² − m) / 2`` in ``O(m · dim)`` per list, in row
    chunks to bound memory.

    Args:
        ranked: ``(n_queries, k_max)`` item ids padded with ``PAD``.
        k: cut-off.
        item_embeddings: ``(n_items, dim)`` float vectors indexed by item id; an all-zero row
            of a shown item raises ``ValueError`` (its cosine is undefined).

    Returns:
        ``float64 (n_queries,)``.
    """
    vectors = np.asarray(item_embeddings, dtype=np.float64)
    if vectors.ndim != 2:
        raise ValueError(f"item_embeddings must be 2-D (n_items, dim), got shape {vectors.shape}")
    top, valid = _top_items(ranked, k, vectors.shape[0])
    norms = np.linalg.norm(vectors, axis=1)
    shown = np.unique(top[valid])
    if not np.all(np.isfinite(vectors[shown])) or np.any(norms[shown] == 0):
        raise ValueError("embeddings of recommended items must be finite and non-zero")
    # Unit vectors plus one zero row that padding points to, so a plain gather-and-sum works.
    unit = np.zeros((vectors.shape[0] + 1, vectors.shape[1]))
    unit[shown] = vectors[shown] / norms[shown, None]
    ids = np.where(valid, top, vectors.shape[0])
    m = valid.sum(axis=1)
    same = np.zeros(top.shape[0], dtype=np.float64)
    rows = max(1, _CHUNK_ELEMENTS // max(1, top.shape[1] * vectors.shape[1]))
    for start in range(0, top.shape[0], rows):
        total = unit[ids[start : start + rows]].sum(axis=1)
        same[start : start + rows] = (np.einsum("nd,nd->n", total, total) - m[start : start + rows]) / 2.0
    pairs = _pairs(m)
    values = np.full(top.shape[0], np.nan)
    np.divide(pairs - same, pairs, out=values, where=pairs > 0)
    return values


def self_information(item_counts: ArrayLike, smoothing: float = 1.0) -> FloatArray:
    """``-log2 p(i)`` per item id, with ``p(i) = (c_i + α) / (Σ_j c_j + α · n_items)``.

    ``item_counts`` (``(n_items,)``, ``>= 0``) is each item's popularity in the training data
    (interactions or distinct users — the caller's choice; say which in reports). Additive
    (Laplace) smoothing ``α = smoothing > 0`` keeps unseen items finite: they get the
    largest self-information, ``log2((Σ c + α n_items) / α)``, instead of infinity.
    """
    counts = np.asarray(item_counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError("item_counts must be a non-empty 1-D array indexed by item id")
    if not np.all(np.isfinite(counts)) or counts.min() < 0:
        raise ValueError("item_counts must be finite and >= 0")
    if not smoothing > 0:
        raise ValueError(f"smoothing must be > 0, got {smoothing}")
    total = counts.sum() + smoothing * counts.size
    return np.asarray(np.log2(total) - np.log2(counts + smoothing), dtype=np.float64)


def novelty(ranked: ArrayLike, k: int, item_counts: ArrayLike, smoothing: float = 1.0) -> FloatArray:
    """Mean self-information (bits) of the real items in each top-``k`` list.

    ``novelty(q) = (1/m) Σ_{i ∈ top_k(q)} -log2 p(i)`` with ``p`` from
    :func:`self_information`; higher means less popular recommendations. ``NaN`` for an empty
    list.

    Returns:
        ``float64 (n_queries,)``.
    """
    information = self_information(item_counts, smoothing)
    top, valid = _top_items(ranked, k, information.size)
    total = np.where(valid, information[np.where(valid, top, 0)], 0.0).sum(axis=1)
    m = valid.sum(axis=1)
    values = np.full(top.shape[0], np.nan)
    np.divide(total, m, out=values, where=m > 0)
    return values
