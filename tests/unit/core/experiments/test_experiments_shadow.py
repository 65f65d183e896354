"""Shadow comparisons of two top-k lists and their summary."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vitrina.core.experiments.shadow import compare_lists, kendall_tau_b, spearman_rho, summarise

pytestmark = pytest.mark.unit


def test_identical_lists_agree_fully() -> None:
    c = compare_lists(["a", "b", "c", "d"], ["a", "b", "c", "d"], [4.0, 3.0, 2.0, 1.0], 4)
    assert (c.overlap, c.kendall, c.spearman) == (1.0, pytest.approx(1.0), pytest.approx(1.0))
    assert (c.challenger_score_mean, c.challenger_score_top) == (2.5, 4.0)


def test_a_reversed_list_has_full_overlap_and_negative_correlation() -> None:
    c = compare_lists(["a", "b", "c", "d"], ["d", "c", "b", "a"], [1, 1, 1, 1], 4)
    assert c.overlap == 1.0
    assert c.kendall == pytest.approx(-1.0)
    assert c.spearman == pytest.approx(-1.0)


def test_disjoint_lists_have_no_overlap_and_negative_correlation_over_the_union() -> None:
    c = compare_lists(["a", "b", "c"], ["x", "y", "z"], [0.3, 0.2, 0.1], 3)
    assert c.overlap == 0.0
    # each item ranks 1..3 in its list and 4 (missing) in the other: anti-correlated
    expected = stats.kendalltau([1, 2, 3, 4, 4, 4], [4, 4, 4, 1, 2, 3]).statistic
    assert c.kendall == pytest.approx(expected)
    assert c.kendall is not None
    assert c.kendall < 0


def test_overlap_counts_only_the_first_k() -> None:
    c = compare_lists(["a", "b", "c", "d"], ["b", "a", "x", "c"], [1, 1, 1, 1], 2)
    assert c.overlap == 1.0
    assert c.kendall == pytest.approx(-1.0)


def test_undefined_correlations_are_none_and_empty_lists_are_handled() -> None:
    c = compare_lists(["a"], ["a"], [float("nan")], 5)
    assert (c.overlap, c.kendall, c.spearman, c.challenger_score_mean) == (1.0, None, None, None)
    assert compare_lists(["a", "b"], [], [], 2).overlap == 0.0
    with pytest.raises(ValueError, match="k must be"):
        compare_lists(["a"], ["a"], [1.0], 0)


@pytest.mark.parametrize("seed", range(5))
def test_rank_correlations_match_scipy_on_tied_rankings(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 8, 30)  # many ties, as ranks with the missing items at k + 1 have
    y = rng.integers(1, 8, 30)
    assert kendall_tau_b(x, y) == pytest.approx(stats.kendalltau(x, y).statistic)
    assert spearman_rho(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)


def test_summary_means_and_latency_quantiles() -> None:
    rows = [
        compare_lists(["a", "b"], ["a", "b"], [2, 1], 2, champion_ms=1.0, challenger_ms=10.0).to_dict(),
        compare_lists(["a", "b"], ["c", "d"], [4, 3], 2, champion_ms=3.0, challenger_ms=30.0).to_dict(),
        compare_lists(["a"], ["a"], [5], 2, champion_ms=2.0, challenger_ms=20.0).to_dict(),
    ]
    summary = summarise(rows)
    assert summary["requests"] == 3
    assert summary["overlap_at_k"] == pytest.approx(2 / 3)
    assert summary["kendall_tau"] == pytest.approx((rows[0]["kendall"] + rows[1]["kendall"]) / 2)
    assert summary["challenger_score_mean"] == pytest.approx((1.5 + 3.5 + 5.0) / 3)
    assert (summary["champion_ms_p50"], summary["challenger_ms_p50"]) == (2.0, 20.0)
    assert summary["challenger_ms_p95"] == pytest.approx(29.0)
    assert summarise([])["requests"] == 0
