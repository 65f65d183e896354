"""Search evaluation: metrics per model and per query type against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from vitrina.core.evaluation.search_rankings import (
    JudgedQueries,
    evaluate_rankings,
    judged_from_judgments,
    judged_from_logs,
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


INDEX = {"p1": 0, "p2": 1, "p3": 2, "p4": 3}


def _rows_of(ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
    return np.array([INDEX.get(str(i), -1) for i in np.atleast_1d(np.asarray(ids))], dtype=np.int64)


def _judgments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "query": ["drill", "drill", "drill", "drill", "saw", "hammer", "hammer"],
            "product_id": ["p1", "p2", "p3", "p9", "p3", "p4", "p4"],
            "grade": [2.0, 1.0, 0.0, 2.0, 0.0, 2.0, 1.0],
        }
    )


@pytest.mark.unit
def test_judgments_are_graded_with_linear_gains_by_hand() -> None:
    queries = judged_from_judgments(_judgments(), _rows_of)
    assert queries.texts == ["drill", "hammer", "saw"]
    assert set(queries.types) == {"judged"}
    assert queries.transform == "linear"
    assert len(queries) == 3
    assert queries.n_scored == 2  # "saw" has no relevant product: it cannot be scored
    # drill ranks p2 (grade 1), p3 (grade 0), p1 (grade 2); p9 is not in the index (dropped)
    rankings = [np.array([1, 2, 0]), np.array([], dtype=np.int64), np.array([2])]
    result = evaluate_rankings(queries, rankings)
    dcg = 1 / math.log2(2) + 0 / math.log2(3) + 2 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert result["ndcg@10"] == pytest.approx((dcg / ideal + 0.0) / 2)  # hammer found nothing: 0
    exponential = (1 + 3 / 2) / (3 + 1 / math.log2(3))
    assert result["ndcg@10"] != pytest.approx((exponential + 0.0) / 2)
    assert result["mrr"] == pytest.approx((1 + 0) / 2)
    assert result["recall@100"] == pytest.approx((2 / 2 + 0) / 2)
    assert result["zero_result_rate"] == pytest.approx(1 / 3)


@pytest.mark.unit
def test_a_product_judged_twice_keeps_its_highest_grade() -> None:
    twice = pd.DataFrame(
        {"query": ["hammer"] * 3, "product_id": ["p4", "p1", "p4"], "grade": [1.0, 1.5, 2.0]}
    )
    queries = judged_from_judgments(twice, _rows_of)
    result = evaluate_rankings(queries, [np.array([0, 3])], by_type=False)  # p1, then p4
    ideal = 2 + 1.5 / math.log2(3)  # p4 counts with grade 2, not 1
    assert result["ndcg@10"] == pytest.approx((1.5 + 2 / math.log2(3)) / ideal)


@pytest.mark.unit
def test_logs_without_any_search_give_no_judged_query() -> None:
    columns = ["query", "user_id", "results_clicked", "results_purchased"]
    assert judged_from_logs(pd.DataFrame(columns=columns), _rows_of, max_queries=10, seed=0).texts == []


@pytest.mark.unit
def test_logged_searches_keep_only_clicked_ones_with_purchases_worth_two() -> None:
    logs = pd.DataFrame(
        {
            "query": ["martillo", "taladro", "sierra"],
            "user_id": ["u1", "u2", None],
            "results_clicked": [["p1", "p4"], [], ["p4"]],
            "results_purchased": [["p4"], [], []],
        }
    )
    queries = judged_from_logs(logs, _rows_of, max_queries=10, seed=0)
    assert queries.texts == ["martillo", "sierra"]
    assert queries.user_ids == ["u1", None]
    assert queries.gains[0].tolist() == [1.0, 2.0]


@pytest.mark.unit
def test_logged_searches_keep_the_time_they_were_made() -> None:
    made = pd.to_datetime(["2026-02-10 12:00:00.000001", "2026-02-11 08:00:00.000000"], utc=True)
    logs = pd.DataFrame(
        {
            "query": ["martillo", "sierra"],
            "user_id": ["u1", "u2"],
            "ts": made,
            "results_clicked": [["p1"], ["p4"]],
            "results_purchased": [[], []],
        }
    )
    queries = judged_from_logs(logs, _rows_of, max_queries=10, seed=0)
    assert queries.searched_us == [t.value // 1000 for t in made]
    untimed = judged_from_logs(logs.drop(columns=["ts"]), _rows_of, max_queries=10, seed=0)
    assert untimed.searched_us is None
