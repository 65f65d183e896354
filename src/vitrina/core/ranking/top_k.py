"""The best ``k`` columns of each row of a score matrix, padded: how every model's scores become
ranked lists (recommenders, search retrieval)."""

from __future__ import annotations

import numpy as np

from vitrina.core.ranking.interactions import FloatArray, IntArray

PAD = -1  # padding of ranked matrices (the same convention as vitrina.core.metrics)


def top_k_rows(scores: FloatArray, k: int) -> tuple[IntArray, FloatArray]:
    """Top ``k`` columns of every row of a dense score matrix, best first.

    ``-inf`` scores are never returned (their slots become ``PAD``). Shapes: (n, m) → (n, k).
    """
    n, m = scores.shape
    kk = min(k, m)
    if kk == 0:
        return np.full((n, k), PAD, dtype=np.int64), np.full((n, k), -np.inf)
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    items = np.take_along_axis(part, order, axis=1).astype(np.int64)
    top = np.take_along_axis(part_scores, order, axis=1)
    items[~np.isfinite(top)] = PAD
    if kk < k:
        items = np.pad(items, ((0, 0), (0, k - kk)), constant_values=PAD)
        top = np.pad(top, ((0, 0), (0, k - kk)), constant_values=-np.inf)
    return items, top


def top_k_pairs(
    rows: IntArray, cols: IntArray, scores: FloatArray, n_rows: int, k: int
) -> tuple[IntArray, FloatArray]:
    """Top ``k`` of sparse ``(row, col, score)`` triples per row, best first (ties by ``col``).

    Rows with fewer than ``k`` finite scores are padded with ``PAD`` / ``-inf``. Shapes: (m,) → (n_rows, k).
    """
    out_cols = np.full((n_rows, k), PAD, dtype=np.int64)
    out_scores = np.full((n_rows, k), -np.inf)
    finite = np.isfinite(scores)
    rows, cols, scores = rows[finite], cols[finite], scores[finite]
    if rows.size == 0 or k == 0:
        return out_cols, out_scores
    order = np.lexsort((cols, -scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    rank = np.arange(rows.size) - np.searchsorted(rows, rows, side="left")
    top = rank < k
    out_cols[rows[top], rank[top]] = cols[top]
    out_scores[rows[top], rank[top]] = scores[top]
    return out_cols, out_scores
