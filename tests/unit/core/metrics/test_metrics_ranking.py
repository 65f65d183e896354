"""Accuracy metrics: hand-computed examples, a loop-based reference on random cases, sklearn."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from vitrina.core.metrics import (
    PAD,
    Judged,
    Truth,
    average_precision,
    dcg,
    hit_rate,
    judge,
    mean_over_queries,
    ndcg,
    precision,
    ranking_report,
    recall,
    reciprocal_rank,
)

pytestmark = pytest.mark.unit

NAN = float("nan")


# ---------------------------------------------------------------- plain reference implementations


def reference_gains(row: list[int], truth: dict[int, float]) -> list[float]:
    """Plain loop: gain of each rank; padding and repeats of an item already seen earn 0."""
    seen: set[int] = set()
    out = []
    for item in row:
        if item == PAD or item in seen:
            out.append(0.0)
        else:
            out.append(float(truth.get(item, 0.0)))
            seen.add(item)
    return out


def reference_ndcg(row: list[int], truth: dict[int, float], k: int, linear: bool = False) -> float:
    def transform(g: float) -> float:
        return g if linear else 2.0**g - 1.0

    gains = reference_gains(row, truth)[:k]
    actual = sum(transform(g) / math.log2(i + 2) for i, g in enumerate(gains))
    best = sorted(truth.values(), reverse=True)[:k]
    ideal = sum(transform(g) / math.log2(i + 2) for i, g in enumerate(best))
    return actual / ideal if ideal > 0 else NAN


def n_relevant(truth: dict[int, float]) -> int:
    return sum(g > 0 for g in truth.values())


def reference_average_precision(row: list[int], truth: dict[int, float], k: int) -> float:
    if n_relevant(truth) == 0:
        return NAN
    hits, total = 0, 0.0
    for i, g in enumerate(reference_gains(row, truth)[:k]):
        if g > 0:
            hits += 1
            total += hits / (i + 1)
    return total / min(k, n_relevant(truth))


def reference_reciprocal_rank(row: list[int], truth: dict[int, float], k: int | None) -> float:
    if n_relevant(truth) == 0:
        return NAN
    gains = reference_gains(row, truth)
    for i, g in enumerate(gains if k is None else gains[:k]):
        if g > 0:
            return 1.0 / (i + 1)
    return 0.0


def reference_hits(row: list[int], truth: dict[int, float], k: int) -> int:
    return sum(g > 0 for g in reference_gains(row, truth)[:k])


def reference_hit_rate(row: list[int], truth: dict[int, float], k: int) -> float:
    return NAN if n_relevant(truth) == 0 else float(reference_hits(row, truth, k) > 0)


def reference_precision(row: list[int], truth: dict[int, float], k: int) -> float:
    return NAN if n_relevant(truth) == 0 else reference_hits(row, truth, k) / k


def reference_recall(row: list[int], truth: dict[int, float], k: int) -> float:
    return NAN if n_relevant(truth) == 0 else reference_hits(row, truth, k) / n_relevant(truth)


# ---------------------------------------------------------------- random cases vs the reference


def random_case(
    rng: np.random.Generator, n_queries: int, k_max: int, n_items: int
) -> tuple[np.ndarray, list[dict[int, float]]]:
    """Ranked lists with trailing and inner padding and repeats, plus graded truth with ties.

    About 15 % of queries get no truth and some only zero gains, so every edge case appears.
    """
    ranked = rng.integers(0, n_items, size=(n_queries, k_max))
    lengths = rng.integers(0, k_max + 1, size=n_queries)
    ranked[np.arange(k_max)[None, :] >= lengths[:, None]] = PAD
    ranked[rng.random(ranked.shape) < 0.05] = PAD
    truths = []
    for _ in range(n_queries):
        size = 0 if rng.random() < 0.15 else int(rng.integers(1, 12))
        items = rng.choice(n_items, size=size, replace=False)
        grades = rng.integers(0, 4, size=size)
        truths.append({int(i): float(g) for i, g in zip(items, grades, strict=True)})
    return ranked, truths


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("scale", [1, 2**50])
def test_judge_matches_dict_reference_on_random_cases(seed: int, scale: int) -> None:
    """``scale`` 2**50 makes ``n_queries * max id`` overflow int64, forcing the vocabulary path."""
    rng = np.random.default_rng(seed)
    ranked, truths = random_case(rng, n_queries=300, k_max=15, n_items=40)
    ranked = np.where(ranked == PAD, PAD, ranked * scale + 7)
    truths = [{item * scale + 7: gain for item, gain in t.items()} for t in truths]
    judged = judge(ranked, Truth.from_dicts(truths))
    expected = [reference_gains(list(row), t) for row, t in zip(ranked, truths, strict=True)]
    np.testing.assert_array_equal(judged.gains, expected)
    np.testing.assert_array_equal(judged.n_relevant, [n_relevant(t) for t in truths])


Vectorised = Callable[[Judged, int], np.ndarray]
Reference = Callable[[list[int], dict[int, float], int], float]
PAIRS: list[tuple[Vectorised, Reference]] = [
    (ndcg, reference_ndcg),
    (lambda j, k: ndcg(j, k, "linear"), lambda r, t, k: reference_ndcg(r, t, k, linear=True)),
    (average_precision, reference_average_precision),
    (reciprocal_rank, reference_reciprocal_rank),
    (hit_rate, reference_hit_rate),
    (precision, reference_precision),
    (recall, reference_recall),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_reference_on_random_cases(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ranked, truths = random_case(rng, n_queries=300, k_max=15, n_items=40)
    judged = judge(ranked, Truth.from_dicts(truths))
    rows = [list(row) for row in ranked]
    for k in (1, 2, 5, 10, 15, 25):  # 25 > k_max: ranks past the list count as misses
        for vectorised, reference in PAIRS:
            expected = [reference(row, t, k) for row, t in zip(rows, truths, strict=True)]
            np.testing.assert_allclose(vectorised(judged, k), expected, rtol=1e-12, atol=1e-12)
    whole_list = [reference_reciprocal_rank(row, t, None) for row, t in zip(rows, truths, strict=True)]
    np.testing.assert_allclose(reciprocal_rank(judged), whole_list)
    # Bounds that hold for any input, thanks to repeats earning nothing.
    for values in (ndcg(judged, 10), recall(judged, 15), average_precision(judged, 5)):
        defined = values[~np.isnan(values)]
        assert defined.min() >= 0.0
        assert defined.max() <= 1.0 + 1e-12


def test_ideal_ranking_scores_one() -> None:
    rng = np.random.default_rng(7)
    _, truths = random_case(rng, n_queries=100, k_max=1, n_items=40)
    width = max(len(t) for t in truths)
    ranked = np.full((len(truths), width), PAD)
    for q, t in enumerate(truths):
        best_first = sorted(t, key=lambda item: -t[item])
        ranked[q, : len(best_first)] = best_first
    judged = judge(ranked, Truth.from_dicts(truths))
    has_relevant = judged.n_relevant > 0
    for k in (1, 3, width):
        np.testing.assert_allclose(ndcg(judged, k)[has_relevant], 1.0)
        np.testing.assert_allclose(average_precision(judged, k)[has_relevant], 1.0)


# ---------------------------------------------------------------- hand-computed examples


@pytest.fixture
def example() -> Judged:
    """Three queries.

    A: ranked [10, 11, 12, 13], truth {10: 3, 11: 2, 12: 0, 13: 1} -> gains [3, 2, 0, 1].
    B: ranked [5, 6, pad],      truth {6: 1, 9: 2} (9 never retrieved) -> gains [0, 1, 0].
    C: ranked [1, 2, 3],        no truth at all.
    """
    ranked = np.array([[10, 11, 12, 13], [5, 6, PAD, PAD], [1, 2, 3, PAD]])
    return judge(ranked, Truth.from_dicts([{10: 3, 11: 2, 12: 0, 13: 1}, {6: 1, 9: 2}, {}]))


LOG3, LOG5 = math.log2(3), math.log2(5)


def test_ndcg_hand_computed(example: Judged) -> None:
    # A: DCG@4 = (2^3-1)/log2(2) + (2^2-1)/log2(3) + 0/log2(4) + (2^1-1)/log2(5) = 7 + 3/log2 3 + 1/log2 5
    #    IDCG@4 over ideal [3, 2, 1, 0] = 7 + 3/log2 3 + 1/log2 4 = 7 + 3/log2 3 + 0.5      -> 0.99262
    # B: DCG@4 = (2^1-1)/log2(3); IDCG@4 over ideal [2, 1] = 3/1 + 1/log2 3           -> 0.17377
    # C: no relevant item -> NaN.
    a = (7 + 3 / LOG3 + 1 / LOG5) / (7 + 3 / LOG3 + 0.5)
    b = (1 / LOG3) / (3 + 1 / LOG3)
    np.testing.assert_allclose(ndcg(example, 4), [a, b, NAN])
    np.testing.assert_allclose(dcg(example, 4), [7 + 3 / LOG3 + 1 / LOG5, 1 / LOG3, 0.0])
    # k = 2: A retrieves its ideal top 2 -> 1; B: DCG = 1/log2 3 over IDCG@2 = 3 + 1/log2 3.
    np.testing.assert_allclose(ndcg(example, 2), [1.0, b, NAN])
    # k = 10 is past every list; A's IDCG@10 equals IDCG@4, B's ideal has only 2 items.
    np.testing.assert_allclose(ndcg(example, 10), [a, b, NAN])
    # Linear gains, A: DCG@4 = 3 + 2/log2 3 + 1/log2 5; IDCG@4 = 3 + 2/log2 3 + 1/log2 4.
    linear_a = (3 + 2 / LOG3 + 1 / LOG5) / (3 + 2 / LOG3 + 0.5)
    np.testing.assert_allclose(ndcg(example, 4, "linear")[0], linear_a)


def test_map_mrr_hit_precision_recall_hand_computed(example: Judged) -> None:
    # A: relevant at ranks 1, 2, 4 (n_relevant 3). AP@4 = (1/1 + 2/2 + 3/4) / min(4, 3) = 2.75 / 3.
    #    AP@2 = (1/1 + 2/2) / min(2, 3) = 1.
    # B: relevant at rank 2 (n_relevant 2). AP@3 = (1/2) / min(3, 2) = 0.25.
    np.testing.assert_allclose(average_precision(example, 4), [2.75 / 3, 0.25, NAN])
    np.testing.assert_allclose(average_precision(example, 2), [1.0, 0.25, NAN])
    # First relevant: A at rank 1, B at rank 2; with k = 1 B finds nothing.
    np.testing.assert_allclose(reciprocal_rank(example), [1.0, 0.5, NAN])
    np.testing.assert_allclose(reciprocal_rank(example, 1), [1.0, 0.0, NAN])
    np.testing.assert_allclose(hit_rate(example, 1), [1.0, 0.0, NAN])
    np.testing.assert_allclose(hit_rate(example, 2), [1.0, 1.0, NAN])
    # Precision divides by k even past the list: B@5 = 1/5; A@4 = 3/4.
    np.testing.assert_allclose(precision(example, 4), [0.75, 0.25, NAN])
    np.testing.assert_allclose(precision(example, 5), [0.6, 0.2, NAN])
    # Recall divides by all relevant items, retrieved or not: A@1 = 1/3, A@2 = 2/3, B@2 = 1/2.
    np.testing.assert_allclose(recall(example, 1), [1 / 3, 0.0, NAN])
    np.testing.assert_allclose(recall(example, 2), [2 / 3, 0.5, NAN])
    np.testing.assert_allclose(recall(example, 5), [1.0, 0.5, NAN])


def test_repeated_item_earns_once() -> None:
    # Ranked [7, 7, 8]: the second 7 keeps rank 2 but earns nothing; 8 is relevant at rank 3.
    judged = judge([7, 7, 8], Truth.from_dicts([{7: 1, 8: 1}]))
    np.testing.assert_allclose(recall(judged, 3), [1.0])
    np.testing.assert_allclose(precision(judged, 3), [2 / 3])
    np.testing.assert_allclose(ndcg(judged, 3), [(1 + 1 / math.log2(4)) / (1 + 1 / LOG3)])


# ---------------------------------------------------------------- sklearn


@pytest.mark.parametrize("k", [1, 3, 12, 20])
def test_ndcg_agrees_with_sklearn_when_all_candidates_are_judged(k: int) -> None:
    """sklearn's ndcg_score ranks the n_labels candidates by score and normalises by the ideal
    order of those same candidates, with linear gains; it scores all-zero rows 0.

    When every candidate is judged (so "all known relevant items" = the candidates) and scores
    have no ties, our linear NDCG equals sklearn's, and ours with the exponential gain equals
    sklearn fed ``2**g - 1``. Rows without relevant items compare with no_relevant="zero".
    """
    rng = np.random.default_rng(k)
    n_queries, n_labels = 200, 12
    grades = rng.integers(0, 4, size=(n_queries, n_labels)) * (rng.random((n_queries, n_labels)) < 0.4)
    grades[:20] = 0
    scores = np.argsort(rng.random((n_queries, n_labels)), axis=1).astype(float)  # a permutation: no ties
    ranked = np.argsort(-scores, axis=1)
    query, item = np.divmod(np.arange(n_queries * n_labels), n_labels)
    judged = judge(ranked, Truth.from_pairs(query, item, grades.ravel(), n_queries=n_queries))
    linear = mean_over_queries(ndcg(judged, k, "linear"), no_relevant="zero")
    exponential = mean_over_queries(ndcg(judged, k), no_relevant="zero")
    assert linear == pytest.approx(ndcg_score(grades, scores, k=k), rel=1e-12)
    assert exponential == pytest.approx(ndcg_score(2.0**grades - 1, scores, k=k), rel=1e-12)


# ---------------------------------------------------------------- edge cases and reductions


ALL_METRICS: list[Vectorised] = [dcg, ndcg, average_precision, reciprocal_rank, hit_rate, precision, recall]


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize("k", [0, -3, 2.5, True])
def test_non_positive_or_non_integer_k_is_rejected(example: Judged, metric: Vectorised, k: int) -> None:
    with pytest.raises(ValueError, match="k must be a positive integer"):
        metric(example, k)


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_empty_inputs_give_empty_results(metric: Vectorised) -> None:
    no_queries = judge(np.empty((0, 10), dtype=np.int64), Truth.from_dicts([]))
    assert metric(no_queries, 5).shape == (0,)
    no_columns = judge(np.empty((2, 0), dtype=np.int64), Truth.from_dicts([{1: 1.0}, {}]))
    values = metric(no_columns, 5)
    assert values.shape == (2,)
    assert values[0] == 0.0  # nothing retrieved for a query that has a relevant item
    assert np.isnan(values[1]) or metric is dcg  # DCG alone needs no truth to be defined


def test_mean_over_queries() -> None:
    values = np.array([NAN, 1.0, 0.5])
    assert mean_over_queries(values) == 0.75
    assert mean_over_queries(values, no_relevant="zero") == 0.5
    assert math.isnan(mean_over_queries([NAN, NAN]))
    assert math.isnan(mean_over_queries([]))
    with pytest.raises(ValueError, match="no_relevant"):
        mean_over_queries(values, no_relevant="drop")  # type: ignore[arg-type]


def test_ranking_report(example: Judged) -> None:
    report = ranking_report(example, ["ndcg@4", "MRR", "mrr@1", "recall@5", "hitrate@1"])
    assert list(report) == ["ndcg@4", "MRR", "mrr@1", "recall@5", "hitrate@1"]
    assert report["ndcg@4"] == pytest.approx(mean_over_queries(ndcg(example, 4)))
    assert report["MRR"] == pytest.approx((1.0 + 0.5) / 2)
    assert report["mrr@1"] == pytest.approx(0.5)
    assert report["recall@5"] == pytest.approx(0.75)
    zero = ranking_report(example, ["hitrate@1"], no_relevant="zero")
    assert zero["hitrate@1"] == pytest.approx(1 / 3)
    assert set(ranking_report(example)) == {"ndcg@10", "ndcg@20", "hitrate@10", "map@10", "mrr", "recall@100"}


@pytest.mark.parametrize("name", ["ndcg", "auc@10", "ndcg@0", "ndcg@-1", "ndcg@ten"])
def test_ranking_report_rejects_bad_names(example: Judged, name: str) -> None:
    with pytest.raises(ValueError, match=r"metric|k must be"):
        ranking_report(example, ["mrr", name])
