"""retrieval_report: encoder rankings scored against judgements, overall and per group."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from vitrina.core.metrics.relevance import PAD
from vitrina.core.search.semantic.index import SemanticIndex
from vitrina.core.search.semantic.retrieval_quality import (
    Ranker,
    exact_ranker,
    index_ranker,
    retrieval_report,
)

PRODUCTS = ["p0", "p1", "p2", "p3"]


def _fixed(rankings: dict[str, list[int]]) -> Ranker:
    def rank(queries: list[str], depth: int) -> npt.NDArray[np.int64]:
        out = np.full((len(queries), depth), PAD, dtype=np.int64)
        for i, q in enumerate(queries):
            rows = rankings[q][:depth]
            out[i, : len(rows)] = rows
        return out

    return rank


@pytest.mark.unit
def test_metrics_per_query_and_per_group() -> None:
    judgements = pd.DataFrame(
        {
            "query": ["Celular", "celular", "tv", "tv", "radio"],
            "product_id": ["p1", "p2", "p3", "gone", "gone"],  # "gone": not in the catalog
            "query_type": ["exact", "exact", "typo", "typo", "typo"],
        }
    )
    rank = _fixed({"celular": [1, 0, 2, 3], "tv": [0, 1, 2, 3]})
    metrics = ["recall@1", "recall@3", "mrr@4"]
    report = retrieval_report(rank, PRODUCTS, judgements, metrics, by="query_type")
    assert report.queries == 2  # "radio" judges only an unknown product
    assert report.metrics["recall@1"] == pytest.approx((0.5 + 0.0) / 2)
    assert report.metrics["recall@3"] == pytest.approx((1.0 + 0.0) / 2)
    assert report.metrics["mrr@4"] == pytest.approx((1.0 + 0.25) / 2)
    assert report.by_group["exact"]["recall@3"] == pytest.approx(1.0)
    assert report.by_group["typo"]["mrr@4"] == pytest.approx(0.25)


@pytest.mark.unit
def test_graded_relevance_and_query_ids_are_honoured() -> None:
    # Same text, two evaluation units (query ids) with different targets.
    judgements = pd.DataFrame(
        {
            "query_id": ["q1", "q1", "q2"],
            "query": ["samsung", "samsung", "samsung"],
            "product_id": ["p0", "p1", "p3"],
            "relevance": [3, 1, 2],
        }
    )
    rank = _fixed({"samsung": [0, 1, 2, 3]})
    report = retrieval_report(rank, PRODUCTS, judgements, ["ndcg@2", "recall@2"])
    assert report.queries == 2
    assert report.metrics["recall@2"] == pytest.approx((1.0 + 0.0) / 2)
    assert report.metrics["ndcg@2"] == pytest.approx((1.0 + 0.0) / 2)


@pytest.mark.unit
def test_index_ranker_matches_exact_ranker_on_a_small_catalog() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    lookup = {f"q{i}": vectors[i] + 0.1 for i in range(20)}

    def encode(queries: list[str]) -> npt.NDArray[np.float32]:
        m = np.stack([lookup[q] for q in queries])
        return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)

    exact = exact_ranker(encode, vectors)(list(lookup), 5)
    approximate = index_ranker(encode, SemanticIndex.build(vectors))(list(lookup), 5)
    assert exact.shape == approximate.shape == (20, 5)
    assert np.mean(exact[:, 0] == approximate[:, 0]) >= 0.95
    with pytest.raises(ValueError, match="no judged query"):
        retrieval_report(
            exact_ranker(encode, vectors), ["x"], pd.DataFrame({"query": ["q0"], "product_id": ["y"]})
        )
