"""IPS-weighted DCG of the shown page: hand values, and a popularity-biased ranking that wins the
naive held-out metric but not the unbiased one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vitrina.core.evaluation.search_rankings import JudgedQueries, evaluate_rankings
from vitrina.core.evaluation.shown_pages import (
    ALL_CANDIDATES,
    RULE,
    SHOWN_ONLY,
    choose_training_rows,
    shown_page_ips_dcg,
)

# One search over five products (rows 0-4). The logging policy showed the three most popular,
# in popularity order: A (row 0, position 1), B (1, position 2), C (2, position 3). The shopper
# clicked A and C; few shoppers look at position 3 (θ = 0.25, weight 4). D and E were not shown.
POPULARITY = np.array([9.0, 8.0, 5.0, 1.0, 0.0])
SHOWN = np.array([True, True, True, False, False])
GAINS = np.array([1.0, 0.0, 1.0, 0.0, 0.0])
IPS = np.array([1.0, 1.5, 4.0, 1.0, 1.0])
GROUPS = np.zeros(5, dtype=np.int64)
# A ranker that reads the query: C first among the shown, an unshown D above it.
RELEVANCE = np.array([3.0, 1.0, 4.0, 5.0, 2.0])


def _naive_ndcg(scores: np.ndarray) -> float:
    """The held-out-logs NDCG@10 of the pipeline: every candidate ranked, clicks as relevance."""
    queries = JudgedQueries(["q"], ["logged"], [np.flatnonzero(GAINS > 0)], [GAINS[GAINS > 0]], [None])
    return float(evaluate_rankings(queries, [np.argsort(-scores, kind="stable")], by_type=False)["ndcg@10"])  # type: ignore[arg-type]


@pytest.mark.unit
def test_popularity_wins_the_naive_metric_but_not_the_unbiased_one() -> None:
    assert _naive_ndcg(POPULARITY) > _naive_ndcg(RELEVANCE)
    popularity = shown_page_ips_dcg(GROUPS, POPULARITY, GAINS, IPS, SHOWN)
    relevance = shown_page_ips_dcg(GROUPS, RELEVANCE, GAINS, IPS, SHOWN)
    # popularity: page A, B, C → 1/log2(2) + 4/log2(4); relevance: page C, A, B → 4 + 1/log2(3)
    assert popularity == pytest.approx([1.0 + 4.0 / 2.0])
    assert relevance == pytest.approx([4.0 + 1.0 / math.log2(3.0)])
    assert relevance[0] > popularity[0]


@pytest.mark.unit
def test_without_the_ips_weights_the_logged_order_is_favoured() -> None:
    ones = np.ones(5)
    # unweighted, the click at position 1 counts as much as the rare one at position 3
    popularity = shown_page_ips_dcg(GROUPS, POPULARITY, GAINS, ones, SHOWN)
    assert popularity == pytest.approx([1.0 + 1.0 / 2.0])
    relevance = shown_page_ips_dcg(GROUPS, RELEVANCE, GAINS, ones, SHOWN)
    assert relevance == pytest.approx([1.0 + 1.0 / math.log2(3.0)])


@pytest.mark.unit
def test_expected_value_is_the_dcg_of_the_true_relevance() -> None:
    """Clicks drawn from the position-based model (P(click) = θ(position) · relevance) on a page
    the logging policy orders by popularity: averaged over many searches, the IPS-weighted DCG
    of any ordering is its DCG on the true relevance, and the unweighted one is not."""
    rng = np.random.default_rng(7)
    relevance = np.array([0.2, 0.1, 0.9, 0.6])  # rows in logged (popularity) order
    theta = np.array([1.0, 0.6, 0.3, 0.15])
    n = 20_000
    groups = np.repeat(np.arange(n), 4)
    clicks = (rng.random((n, 4)) < theta * relevance).astype(np.float64).ravel()
    ips = np.tile(1.0 / theta, n)
    logged = np.tile(-np.arange(4, dtype=np.float64), n)
    by_relevance = np.tile(relevance, n)

    def true_dcg(order: np.ndarray) -> float:
        return float((relevance[order] / np.log2(np.arange(2, 6))).sum())

    for scores, order in ((logged, np.arange(4)), (by_relevance, np.argsort(-relevance))):
        estimate = shown_page_ips_dcg(groups, scores, clicks, ips).mean()
        assert estimate == pytest.approx(true_dcg(order), rel=0.03)
    ones = np.ones(clicks.size)
    unweighted = [shown_page_ips_dcg(groups, s, clicks, ones).mean() for s in (logged, by_relevance)]
    # the true gap is 46 %; unweighted clicks, mostly on the logged top, make it about 10 %
    assert true_dcg(np.argsort(-relevance)) > 1.4 * true_dcg(np.arange(4))
    assert unweighted[1] < 1.15 * unweighted[0]


@pytest.mark.unit
def test_groups_ties_cutoff_and_unshown_rows() -> None:
    groups = np.array([7, 3, 3, 7, 3, 7])
    scores = np.array([1.0, 0.5, 0.5, 2.0, 0.1, 3.0])
    gains = np.array([2.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    ips = np.array([2.0, 1.0, 9.0, 9.0, 3.0, 1.0])
    shown = np.array([True, True, True, True, True, False])
    out = shown_page_ips_dcg(groups, scores, gains, ips, shown, k=2)
    # search 3: rows 1, 2 tie (row order), row 4 third → past k=2; search 7: row 3, then row 0
    # (row 5 was not shown)
    assert out == pytest.approx([1.0, 2.0 * 2.0 / math.log2(3.0)])
    # a gain-less row's weight is never read
    assert shown_page_ips_dcg(groups, scores, gains, np.where(gains > 0, ips, np.nan), shown, k=2) == (
        pytest.approx(out)
    )


@pytest.mark.unit
def test_edge_cases() -> None:
    assert shown_page_ips_dcg([1, 1], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [False, False]) == pytest.approx(
        [0.0]
    )
    assert shown_page_ips_dcg([], [], [], []).size == 0
    with pytest.raises(ValueError, match="aligned"):
        shown_page_ips_dcg([0, 0], [1.0], [1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="k must"):
        shown_page_ips_dcg([0], [1.0], [1.0], [1.0], k=0)


@pytest.mark.unit
def test_shown_only_rows_must_beat_all_candidates_beyond_noise() -> None:
    rng = np.random.default_rng(3)
    incumbent = rng.uniform(0.0, 2.0, 400)
    clearly = choose_training_rows(incumbent, incumbent + rng.uniform(0.05, 0.15, 400))
    assert clearly.rows == SHOWN_ONLY
    assert clearly.p_better < 0.05
    assert clearly.n_searches == 400
    assert clearly.scores[SHOWN_ONLY] > clearly.scores[ALL_CANDIDATES]
    noisy = choose_training_rows(incumbent, incumbent + rng.normal(0.005, 0.5, 400))
    assert noisy.rows == ALL_CANDIDATES  # a higher mean within noise: the incumbent keeps it
    assert choose_training_rows(incumbent, incumbent).rows == ALL_CANDIDATES  # ties too
    assert choose_training_rows(incumbent, incumbent - 0.1).rows == ALL_CANDIDATES


@pytest.mark.unit
def test_the_choice_is_recorded_with_its_numbers_and_rule() -> None:
    choice = choose_training_rows([1.0, 2.0, 3.0], [2.0, 3.0, 4.5])
    assert choice.rows == SHOWN_ONLY
    record = choice.to_dict()
    assert record["ips_dcg@10"] == {ALL_CANDIDATES: 2.0, SHOWN_ONLY: pytest.approx(3.1666667)}
    assert record["rule"] == RULE
    params = choice.params()
    assert params["ranker_rows"] == SHOWN_ONLY
    assert params["ranker_rows_searches"] == 3
    assert params["ranker_rows_ips_dcg_all_candidates"] == 2.0
    assert "shown products only (3.1667) beats the one fitted on every candidate (2.0000)" in choice.reason()
    assert choice.reason().startswith("ranker training rows: shown only.")
