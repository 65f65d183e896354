"""The top-k of every ranked list (dense rows, and the wide rows of batch inference): best
first, ties by column also at the cut."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from vitrina.core.ranking.top_k import PAD, top_k_pairs, top_k_rows, top_k_wide

pytestmark = pytest.mark.unit

TopK = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]


def by_column(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference: each row's finite scores sorted by score, then column; padded to ``k``."""
    items = np.full((scores.shape[0], k), PAD, dtype=np.int64)
    top = np.full((scores.shape[0], k), -np.inf)
    for row, values in enumerate(scores):
        finite = np.flatnonzero(np.isfinite(values))
        best = finite[np.lexsort((finite, -values[finite].astype(np.float64)))][:k]
        items[row, : best.size], top[row, : best.size] = best, values[best]
    return items, top


def test_without_ties_it_is_the_dense_ranking() -> None:
    rng = np.random.default_rng(7)
    scores = rng.standard_normal((40, 3_000)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.1] = -np.inf  # excluded items
    for k in (1, 20, 100):
        items, top = top_k_wide(scores, k)
        expected_items, expected_top = top_k_rows(scores.astype(np.float64), k)
        assert np.array_equal(items, expected_items)
        assert np.array_equal(top, expected_top)
        assert top.dtype == np.float64


@pytest.mark.parametrize("top_k", [top_k_wide, top_k_rows])
def test_ties_go_to_the_smaller_column_also_at_the_cut(top_k: TopK) -> None:
    scores = np.array(
        [
            [1.0, 3.0, 3.0, 2.0, 3.0, 0.0],  # three-way tie at the top, cut inside it
            [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],  # all equal
            [2.0, 1.0, 1.0, 1.0, 2.0, 9.0],  # tie at the cut
        ],
        dtype=np.float32,
    )
    items, top = top_k(scores, 2)
    assert items.tolist() == [[1, 2], [0, 1], [5, 0]]
    assert top.tolist() == [[3.0, 3.0], [0.5, 0.5], [9.0, 2.0]]
    lone = np.zeros((1, 1_000), dtype=np.float32)
    lone[0, 500] = 1.0  # a partial sort over a long row of ties may pick any of them
    assert top_k(lone, 5)[0].tolist() == [[500, 0, 1, 2, 3]]
    rng = np.random.default_rng(3)
    many = np.round(rng.standard_normal((30, 400)), 1).astype(np.float32)  # many ties
    many[rng.random(many.shape) < 0.3] = -np.inf
    for k in (1, 7, 50, 399, 400, 500):
        got, got_top = top_k(many, k)
        want, want_top = by_column(many, k)
        assert np.array_equal(got, want)
        assert np.array_equal(got_top, want_top)
        if k < 500:  # a list is the prefix of a longer one, ties included
            assert np.array_equal(top_k(many, 500)[0][:, :k], got)


def test_short_rows_are_padded() -> None:
    scores = np.array([[1.0, -np.inf, 2.0], [-np.inf, -np.inf, -np.inf]], dtype=np.float32)
    items, top = top_k_wide(scores, 5)
    assert items.tolist() == [[2, 0, PAD, PAD, PAD], [PAD] * 5]
    assert top[0, :2].tolist() == [2.0, 1.0]
    assert np.isneginf(top[0, 2:]).all()
    assert np.isneginf(top[1]).all()
    assert top_k_wide(np.zeros((0, 4), np.float32), 3)[0].shape == (0, 3)


def sorted_reference(rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, n_rows: int, k: int):
    """Reference for the pairs: sorted by row, then score (best first), then column."""
    items = np.full((n_rows, k), PAD, dtype=np.int64)
    top = np.full((n_rows, k), -np.inf)
    keep = np.isfinite(scores)
    for row in range(n_rows):
        mine = np.flatnonzero(keep & (rows == row))
        best = mine[np.lexsort((cols[mine], -scores[mine]))][:k]
        items[row, : best.size], top[row, : best.size] = cols[best], scores[best]
    return items, top


@pytest.mark.parametrize("filled", [0.05, 0.6])  # sorted pairs; dense rows
@pytest.mark.parametrize("shuffled", [False, True])
def test_pairs_rank_the_same_sparse_or_dense(filled: float, shuffled: bool) -> None:
    rng = np.random.default_rng(11)
    n_rows, width = 60, 300
    cells = rng.random((n_rows, width)) < filled
    rows, cols = np.nonzero(cells)
    scores = np.round(rng.standard_normal(rows.size), 1)  # many ties
    scores[rng.random(rows.size) < 0.05] = -np.inf
    if shuffled:
        order = rng.permutation(rows.size)
        rows, cols, scores = rows[order], cols[order], scores[order]
    for k in (1, 10, 400):
        items, top = top_k_pairs(rows, cols, scores, n_rows + 2, k)  # two rows without pairs
        want, want_top = sorted_reference(rows, cols, scores, n_rows + 2, k)
        assert np.array_equal(items, want)
        assert np.array_equal(top, want_top)


def test_a_pair_given_twice_is_listed_twice_even_among_dense_rows() -> None:
    rows = np.array([0, 0, 0, 1, 1, 1])
    cols = np.array([0, 1, 1, 0, 1, 2])
    scores = np.array([1.0, 5.0, 4.0, 2.0, 3.0, 1.0])
    items, top = top_k_pairs(rows, cols, scores, 2, 3)
    assert items.tolist() == [[1, 1, 0], [1, 0, 2]]
    assert top.tolist() == [[5.0, 4.0, 1.0], [3.0, 2.0, 1.0]]


def test_rows_of_very_different_lengths_rank_like_sorted_pairs() -> None:
    rng = np.random.default_rng(5)
    lengths = [0, 1, 3, 40, 257, 1, 600]  # rows laid side by side in several padded widths
    rows = np.repeat(np.arange(len(lengths)), lengths)
    cols = np.concatenate([rng.choice(5_000, n, replace=False) for n in lengths])
    scores = np.round(rng.standard_normal(rows.size), 1)  # many ties, also at the cut
    scores[rng.random(rows.size) < 0.05] = -np.inf
    order = rng.permutation(rows.size)
    for k in (1, 50, 700):
        items, top = top_k_pairs(rows[order], cols[order], scores[order], len(lengths), k)
        want, want_top = sorted_reference(rows, cols, scores, len(lengths), k)
        assert np.array_equal(items, want)
        assert np.array_equal(top, want_top)
