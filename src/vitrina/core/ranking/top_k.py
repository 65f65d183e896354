"""The best ``k`` columns of each row of a score matrix, padded: how every model's scores become
ranked lists (recommenders, search retrieval)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray

PAD = -1  # padding of ranked matrices (the same convention as vitrina.core.metrics)


def top_k_rows(scores: FloatArray, k: int, columns: IntArray | None = None) -> tuple[IntArray, FloatArray]:
    """Top ``k`` columns of every row of a dense score matrix, best first; equal scores by the
    smaller column, also at the cut, so a list is the prefix of a longer one. ``columns``: the
    column each cell stands for, where it is not the cell's position (rows of sparse pairs laid
    side by side, :func:`top_k_pairs`).

    ``-inf`` scores are never returned (their slots become ``PAD``). Shapes: (n, m) → (n, k).
    """
    n, m = scores.shape
    kk = min(k, m)
    if kk == 0:
        return np.full((n, k), PAD, dtype=np.int64), np.full((n, k), -np.inf)
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    items, top = _by_score_then_column(scores, part, np.take_along_axis(scores, part, axis=1), columns)
    if kk < k:
        items = np.pad(items, ((0, 0), (0, k - kk)), constant_values=PAD)
        top = np.pad(top, ((0, 0), (0, k - kk)), constant_values=-np.inf)
    return items, top


def _by_score_then_column(
    scores: npt.NDArray[np.floating],
    found: npt.NDArray[np.integer],
    values: npt.NDArray[np.floating],
    columns: IntArray | None = None,
    cut_shared: npt.NDArray[np.bool_] | None = None,
) -> tuple[IntArray, FloatArray]:
    """Each row's best cells ``found`` (with their scores ``values``, any order, as a partial
    sort leaves them) ordered by score, then column; where the last score is shared with a
    cell left out, the tie is settled by column first (a partial sort picks any of them).
    ``columns``: each cell's column (default: its position). ``cut_shared``: which rows' last
    score a cell left out shares, when the caller knows (else one pass over ``scores`` counts).
    ``-inf`` slots become ``PAD``. Scores come back as float64."""
    cells: IntArray = found.astype(np.int64)
    best: FloatArray = values.astype(np.float64)
    cut = best.min(axis=1)
    if cut_shared is None:
        # every cell above the cut was found, so one more cell at or above it is a tie left out
        reached = np.count_nonzero(scores >= cut[:, None].astype(scores.dtype), axis=1)
        cut_shared = reached > cells.shape[1]
    tied = np.flatnonzero(np.isfinite(cut) & cut_shared)
    for row in tied:
        wanted = np.flatnonzero(scores[row] >= scores.dtype.type(cut[row]))
        named = wanted if columns is None else columns[row, wanted]
        by_score = np.lexsort((named, -scores[row, wanted].astype(np.float64)))
        cells[row] = wanted[by_score][: cells.shape[1]]
        best[row] = scores[row, cells[row]]
    cols = cells if columns is None else np.take_along_axis(columns, cells, axis=1).astype(np.int64)
    order = np.lexsort((cols, -best), axis=1)  # score, then column, within each row
    cols, best = np.take_along_axis(cols, order, axis=1), np.take_along_axis(best, order, axis=1)
    cols[~np.isfinite(best)] = PAD
    return cols, best


DENSE_SHARE = 0.25
"""Share of a block's cells the pairs must fill for :func:`top_k_pairs` to rank them as dense
rows, each pair in its own column's cell, rather than laid side by side row by row (the
co-occurrence blocks of a small catalog)."""
DENSE_CELLS = 4_000_000
"""Most cells of a dense chunk (32 MB of float64), whatever the number of pairs."""


def top_k_pairs(
    rows: IntArray, cols: IntArray, scores: FloatArray, n_rows: int, k: int
) -> tuple[IntArray, FloatArray]:
    """Top ``k`` of sparse ``(row, col, score)`` triples per row, best first (ties by ``col``).

    Rows with fewer than ``k`` finite scores are padded with ``PAD`` / ``-inf``. Where the
    pairs fill at least :data:`DENSE_SHARE` of the rows' cells (an item × item co-occurrence
    block of a small catalog), they are ranked as dense rows, a chunk at a time; otherwise each
    row's pairs are laid side by side and ranked the same way. Shapes: (m,) → (n_rows, k).
    """
    out_cols = np.full((n_rows, k), PAD, dtype=np.int64)
    out_scores = np.full((n_rows, k), -np.inf)
    finite = np.isfinite(scores)
    rows, cols, scores = rows[finite], cols[finite], scores[finite]
    if rows.size == 0 or k == 0:
        return out_cols, out_scores
    width = int(cols.max()) + 1
    if n_rows * width * DENSE_SHARE <= rows.size:
        if _dense_pairs(rows, cols, scores, width, k, out_cols, out_scores):
            return out_cols, out_scores
        out_cols[:], out_scores[:] = PAD, -np.inf
    _padded_pairs(rows, cols, scores, k, out_cols, out_scores)
    return out_cols, out_scores


def _padded_pairs(
    rows: IntArray, cols: IntArray, scores: FloatArray, k: int, out_cols: IntArray, out_scores: FloatArray
) -> None:
    """:func:`top_k_pairs` with each row's pairs laid side by side: the rows whose number of pairs
    rounds up to the same power of two make one padded matrix, ranked like dense rows
    (:func:`top_k_rows`, the pairs' columns settling ties), a chunk of rows at a time. A partial
    sort per row is linear where sorting every pair is not (a demo batch's item-kNN scores,
    6.5M pairs: 2.4 s to sort)."""
    if rows.size > 1 and not bool(np.all(rows[1:] >= rows[:-1])):
        order = np.argsort(rows, kind="stable")
        rows, cols, scores = rows[order], cols[order], scores[order]
    counts = np.bincount(rows, minlength=out_cols.shape[0])
    starts = np.cumsum(counts) - counts
    size_class = np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64)
    size_class[counts == 0] = -1
    for size in np.unique(size_class[size_class >= 0]):
        width = 1 << int(size)
        members = np.flatnonzero(size_class == size)
        slot = np.arange(width)
        step = max(1, DENSE_CELLS // width)
        for start in range(0, members.size, step):
            part = members[start : start + step]
            filled = slot < counts[part][:, None]
            at = np.where(filled, starts[part][:, None] + slot, 0)
            values = np.where(filled, scores[at], -np.inf)
            named = np.where(filled, cols[at], PAD)
            out_cols[part], out_scores[part] = top_k_rows(values, k, named)


def _dense_pairs(
    rows: IntArray,
    cols: IntArray,
    scores: FloatArray,
    width: int,
    k: int,
    out_cols: IntArray,
    out_scores: FloatArray,
) -> bool:
    """:func:`top_k_pairs` as dense rows of ``width`` columns (:func:`top_k_rows`), a chunk of rows
    at a time. False when a (row, col) pair is given twice (a dense row holds one score per cell;
    the caller then ranks the pairs row by row, which keeps both)."""
    if rows.size > 1 and not bool(np.all(rows[1:] >= rows[:-1])):
        order = np.argsort(rows, kind="stable")
        rows, cols, scores = rows[order], cols[order], scores[order]
    n_rows = out_cols.shape[0]
    step = max(1, DENSE_CELLS // width)
    for start in range(0, n_rows, step):
        stop = min(start + step, n_rows)
        lo, hi = np.searchsorted(rows, [start, stop])
        if lo == hi:
            continue
        dense = np.full((stop - start, width), -np.inf)
        dense[rows[lo:hi] - start, cols[lo:hi]] = scores[lo:hi]
        if np.count_nonzero(dense != -np.inf) != hi - lo:
            return False
        out_cols[start:stop], out_scores[start:stop] = top_k_rows(dense, k)
    return True


def top_k_wide(scores: npt.NDArray[np.floating], k: int) -> tuple[IntArray, FloatArray]:
    """:func:`top_k_rows` for wide rows (a score per catalog item), ties by the smaller column.

    Batch inference scores every user against the whole catalog (ALS's dot products: 200,000
    columns at the large scale). :func:`top_k_rows` casts each row to float64 and runs numpy's
    ``argpartition`` over it, ~9 ms per user at 200,000 items on the benchmark machine; torch's
    ``topk`` on the rows as they are (float32) takes a fraction of that, and its one extra cell
    says whether the cut is tied (no second pass over the rows). Equal scores are ordered by
    column, also at the cut, so a list is the prefix of a longer one; without ties the result is
    :func:`top_k_rows`'s. Scores come back as float64 (exact for float32 input).
    """
    import torch  # deferred: a heavy import, needed only where wide rows are ranked

    n, m = scores.shape
    kk = min(k, m)
    items = np.full((n, k), PAD, dtype=np.int64)
    top = np.full((n, k), -np.inf)
    if kk == 0 or n == 0:
        return items, top
    # one cell more than kept: the cut is shared with a cell left out exactly where it ties the last
    more = int(kk < m)
    values, found = torch.topk(torch.from_numpy(np.ascontiguousarray(scores)), kk + more, dim=1, sorted=True)
    kept, best = values.numpy(), found.numpy()
    shared = kept[:, kk] == kept[:, kk - 1] if more else np.zeros(n, dtype=bool)
    cols, best_scores = _by_score_then_column(scores, best[:, :kk], kept[:, :kk], cut_shared=shared)
    items[:, :kk], top[:, :kk] = cols, best_scores
    return items, top
