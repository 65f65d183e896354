"""The best ``k`` columns of each row of a score matrix, padded: how every model's scores become
ranked lists (recommenders, search retrieval)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray

PAD = -1  # padding of ranked matrices (the same convention as vitrina.core.metrics)


def top_k_rows(scores: FloatArray, k: int) -> tuple[IntArray, FloatArray]:
    """Top ``k`` columns of every row of a dense score matrix, best first; equal scores by the
    smaller column, also at the cut, so a list is the prefix of a longer one.

    ``-inf`` scores are never returned (their slots become ``PAD``). Shapes: (n, m) → (n, k).
    """
    n, m = scores.shape
    kk = min(k, m)
    if kk == 0:
        return np.full((n, k), PAD, dtype=np.int64), np.full((n, k), -np.inf)
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    items, top = _by_score_then_column(scores, part, np.take_along_axis(scores, part, axis=1))
    if kk < k:
        items = np.pad(items, ((0, 0), (0, k - kk)), constant_values=PAD)
        top = np.pad(top, ((0, 0), (0, k - kk)), constant_values=-np.inf)
    return items, top


def _by_score_then_column(
    scores: npt.NDArray[np.floating], found: npt.NDArray[np.integer], values: npt.NDArray[np.floating]
) -> tuple[IntArray, FloatArray]:
    """Each row's best columns ``found`` (with their scores ``values``, any order, as a partial
    sort leaves them) ordered by score, then column; where the last score is shared with a
    column left out, the tie is settled by column first (a partial sort picks any of them).
    ``-inf`` slots become ``PAD``. Scores come back as float64."""
    cols: IntArray = found.astype(np.int64)
    best: FloatArray = values.astype(np.float64)
    cut = best.min(axis=1)
    at_cut = scores == cut[:, None].astype(scores.dtype)
    tied = np.flatnonzero(np.isfinite(cut) & (at_cut.sum(axis=1) > (best == cut[:, None]).sum(axis=1)))
    for row in tied:
        wanted = np.flatnonzero(scores[row] >= scores.dtype.type(cut[row]))
        cols[row] = wanted[np.lexsort((wanted, -scores[row, wanted].astype(np.float64)))][: cols.shape[1]]
        best[row] = scores[row, cols[row]]
    order = np.lexsort((cols, -best), axis=1)  # score, then column, within each row
    cols, best = np.take_along_axis(cols, order, axis=1), np.take_along_axis(best, order, axis=1)
    cols[~np.isfinite(best)] = PAD
    return cols, best


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


def top_k_wide(scores: npt.NDArray[np.floating], k: int) -> tuple[IntArray, FloatArray]:
    """:func:`top_k_rows` for wide rows (a score per catalog item), ties by the smaller column.

    Batch inference scores every user against the whole catalog (ALS's dot products: 200,000
    columns at the large scale). :func:`top_k_rows` casts each row to float64 and runs numpy's
    ``argpartition`` over it, ~9 ms per user at 200,000 items on the benchmark machine; torch's
    ``topk`` on the rows as they are (float32) takes a fraction of that. Equal scores are
    ordered by column, also at the cut, so a list is the prefix of a longer one; without ties
    the result is :func:`top_k_rows`'s. Scores come back as float64 (exact for float32 input).
    """
    import torch  # deferred: a heavy import, needed only where wide rows are ranked

    n, m = scores.shape
    kk = min(k, m)
    items = np.full((n, k), PAD, dtype=np.int64)
    top = np.full((n, k), -np.inf)
    if kk == 0 or n == 0:
        return items, top
    values, found = torch.topk(torch.from_numpy(np.ascontiguousarray(scores)), kk, dim=1, sorted=True)
    cols, best = _by_score_then_column(scores, found.numpy(), values.numpy())
    items[:, :kk], top[:, :kk] = cols, best
    return items, top
