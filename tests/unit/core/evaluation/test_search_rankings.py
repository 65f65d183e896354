"""Search evaluation: metrics per model and per query type against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vitrina.core.evaluation.search_rankings import (
    JudgedQueries,
    evaluate_rankings,
    ranked_matrix,
    render_markdown,
)


def _queries() -> JudgedQueries:
    return JudgedQueries(
        texts=["celular samsung", "celuar", "tenis"],
        types=["exact", "typo", "typo"],
        rows=[np.array([3, 7]), np.array([5]), np.array([9])],
        gains=[np.array([3.0, 1.0]), np.array([2.0]), np.array([1.0])],
        user_ids=[None, "u1", None],
    )


@pytest.mark.unit
def test_metrics_match_hand_values() -> None:
    rankings = [np.array([3, 1, 7]), np.array([2, 5]), np.array([], dtype=np.int64)]
    result = evaluate_rankings(_queries(), rankings)
    # query 0: gains 7 @1, 1 @3 → DCG = 7 + 1/2; IDCG = 7 + 1/log2(3)
    ndcg0 = (7 + 0.5) / (7 + 1 / math.log2(3))
    ndcg1 = (3 / math.log2(3)) / 3
    assert result["ndcg@10"] == pytest.approx((ndcg0 + ndcg1 + 0.0) / 3)
    assert result["mrr"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert result["recall@100"] == pytest.approx((1 + 1 + 0) / 3)
    assert result["p@5"] == pytest.approx((2 / 5 + 1 / 5 + 0) / 3)
    assert result["zero_result_rate"] == pytest.approx(1 / 3)
    by_type = result["by_query_type"]
    assert isinstance(by_type, dict)
    assert by_type["exact"]["ndcg@10"] == pytest.approx(ndcg0)
    assert by_type["typo"]["zero_result_rate"] == pytest.approx(0.5)
    assert by_type["typo"]["n_queries"] == 2


@pytest.mark.unit
def test_rankings_must_align_and_markdown_lists_models() -> None:
    with pytest.raises(ValueError, match="2 rankings for 3 queries"):
        evaluate_rankings(_queries(), [np.array([1]), np.array([2])])
    assert ranked_matrix([np.arange(150)]).shape == (1, 100)
    report = {"models": {"bm25": evaluate_rankings(_queries(), [np.array([3])] * 3)}}
    text = render_markdown(report, "r1")
    assert "| bm25 |" in text
    assert "NDCG@10 by query type" in text
