"""Truth construction, the ranked x truth join (`judge`) and long -> ranked matrix (`to_ranked`).

The join is checked against a dict-based reference on random cases in test_metrics_ranking.py,
which shares that reference with the metric references.
"""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.metrics import PAD, Judged, Truth, judge, to_ranked

pytestmark = pytest.mark.unit


def test_judge_small_explicit_example() -> None:
    truth = Truth.from_dicts([{10: 3.0, 11: 2.0, 12: 0.0, 13: 1.0}, {}, {5: 1.0}])
    ranked = np.array([[13, 99, 10, PAD], [1, 2, PAD, PAD], [5, 5, 7, 5]])
    judged = judge(ranked, truth)
    # Row 0: 13 -> 1, 99 unjudged -> 0, 10 -> 3, padding -> 0.
    # Row 2: item 5 earns its gain once, at rank 1; its repeats earn nothing.
    np.testing.assert_array_equal(judged.gains, [[1, 0, 3, 0], [0, 0, 0, 0], [1, 0, 0, 0]])
    # Item 12 is judged but has gain 0: not relevant.
    np.testing.assert_array_equal(judged.n_relevant, [3, 0, 1])


def test_judge_accepts_one_query_as_1d_and_empty_inputs() -> None:
    one = judge([4, 2], Truth.from_dicts([{2: 1.0}]))
    np.testing.assert_array_equal(one.gains, [[0.0, 1.0]])
    empty = judge(np.empty((0, 5), dtype=np.int64), Truth.from_dicts([]))
    assert empty.gains.shape == (0, 5)
    no_columns = judge(np.empty((2, 0), dtype=np.int64), Truth.from_dicts([{1: 1.0}, {}]))
    assert no_columns.gains.shape == (2, 0)
    np.testing.assert_array_equal(no_columns.n_relevant, [1, 0])


@pytest.mark.parametrize(
    ("ranked", "message"),
    [
        (np.array([[1.5, 2.0]]), "integer"),
        (np.array([[1, -2]]), "negative"),
        (np.zeros((1, 2, 2), dtype=np.int64), "1-D or 2-D"),
        (np.array([[1, 2], [3, 4]]), "rows"),
    ],
)
def test_judge_rejects_bad_ranked(ranked: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        judge(ranked, Truth.from_dicts([{1: 1.0}]))


def test_from_pairs_sorts_and_builds_csr() -> None:
    truth = Truth.from_pairs([2, 0, 2, 0], [7, 3, 1, 9], [1.0, 2.0, 3.0, 0.5], n_queries=4)
    np.testing.assert_array_equal(truth.indptr, [0, 2, 2, 4, 4])
    np.testing.assert_array_equal(truth.items, [3, 9, 1, 7])
    np.testing.assert_array_equal(truth.gains, [2.0, 0.5, 3.0, 1.0])
    assert truth.n_queries == 4


def test_from_pairs_without_gains_is_binary() -> None:
    truth = Truth.from_pairs([0, 0, 1], [5, 6, 5], n_queries=2)
    np.testing.assert_array_equal(truth.gains, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(truth.n_relevant(), [2, 1])


def test_from_pairs_duplicates_raise_or_keep_max() -> None:
    args = ([0, 0, 1], [5, 5, 5], [1.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="duplicate judgement for query 0, item 5"):
        Truth.from_pairs(*args, n_queries=2)
    truth = Truth.from_pairs(*args, n_queries=2, duplicates="max")
    np.testing.assert_array_equal(truth.items, [5, 5])
    np.testing.assert_array_equal(truth.gains, [2.0, 1.0])


@pytest.mark.parametrize(
    ("query", "items", "gains", "message"),
    [
        ([0, 3], [1, 2], [1.0, 1.0], r"\[0, 2\)"),
        ([0, -1], [1, 2], [1.0, 1.0], r"\[0, 2\)"),
        ([0, 1], [1, -2], [1.0, 1.0], "item ids must be >= 0"),
        ([0, 1], [1, 2], [1.0, -0.5], "gains must be finite and >= 0"),
        ([0, 1], [1, 2], [1.0, np.nan], "gains must be finite and >= 0"),
        ([0, 1], [1, 2, 3], [1.0, 1.0], "differ in length"),
        ([0.5, 1], [1, 2], [1.0, 1.0], "integers"),
    ],
)
def test_from_pairs_rejects_bad_input(
    query: list[float], items: list[int], gains: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Truth.from_pairs(query, items, gains, n_queries=2)


def test_truth_constructor_validates_csr() -> None:
    with pytest.raises(ValueError, match="sorted ascending"):
        Truth(indptr=np.array([0, 2]), items=np.array([5, 3]), gains=np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="length indptr"):
        Truth(indptr=np.array([0, 3]), items=np.array([5, 3]), gains=np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="non-decreasing"):
        Truth(indptr=np.array([0, 2, 1]), items=np.array([1, 2]), gains=np.array([1.0, 1.0]))


def test_ideal_dcg_uses_all_judged_items_best_first() -> None:
    truth = Truth.from_dicts([{4: 1.0, 8: 3.0, 6: 0.0, 2: 2.0}, {}])
    # Ideal order 3, 2, 1, 0: (2^3-1)/log2(2) + (2^2-1)/log2(3) = 7 + 1.8928 = 8.8928 at k = 2.
    np.testing.assert_allclose(truth.ideal_dcg(2), [7 + 3 / np.log2(3), 0.0])
    # Linear gains at k = 10: 3 + 2/log2(3) + 1/log2(4) + 0.
    np.testing.assert_allclose(truth.ideal_dcg(10, "linear"), [3 + 2 / np.log2(3) + 0.5, 0.0])


def reference_to_ranked(
    query: list[int], items: list[int], rank: list[float], n: int, k: int
) -> list[list[int]]:
    rows: list[list[tuple[float, int, int]]] = [[] for _ in range(n)]
    for order, (q, item, r) in enumerate(zip(query, items, rank, strict=True)):
        rows[q].append((r, order, item))
    return [[item for _, _, item in sorted(row)[:k]] + [PAD] * max(0, k - len(row)) for row in rows]


@pytest.mark.parametrize("seed", [0, 1])
def test_to_ranked_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = 500
    query = rng.integers(0, 60, size=size)
    items = rng.integers(0, 1000, size=size)
    rank = rng.integers(0, 5, size=size).astype(float)  # many ties: input order breaks them
    got = to_ranked(query, items, n_queries=70, k_max=6, rank=rank)
    expected = reference_to_ranked(list(query), list(items), list(rank), 70, 6)
    np.testing.assert_array_equal(got, expected)
    unranked = to_ranked(query, items, n_queries=70, k_max=6)
    expected_unranked = reference_to_ranked(list(query), list(items), [0.0] * size, 70, 6)
    np.testing.assert_array_equal(unranked, expected_unranked)


def test_to_ranked_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="k must be a positive integer"):
        to_ranked([0], [1], n_queries=1, k_max=0)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        to_ranked([1], [1], n_queries=1, k_max=3)
    with pytest.raises(ValueError, match="item ids must be >= 0"):
        to_ranked([0], [-1], n_queries=1, k_max=3)
    with pytest.raises(ValueError, match="rank"):
        to_ranked([0], [1], n_queries=1, k_max=3, rank=[1, 2])


def test_judged_rejects_inconsistent_shapes() -> None:
    truth = Truth.from_dicts([{1: 1.0}, {}])
    with pytest.raises(ValueError, match="n_relevant"):
        Judged(gains=np.zeros((2, 3)), n_relevant=np.zeros(3, dtype=np.int64), truth=truth)
    with pytest.raises(ValueError, match="truth judges 2"):
        Judged(gains=np.zeros((3, 3)), n_relevant=np.zeros(3, dtype=np.int64), truth=truth)
