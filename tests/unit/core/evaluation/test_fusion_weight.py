"""The hybrid's fusion weights learnt on judged queries, with stand-in retrievers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from vitrina.core.evaluation.fusion_weight import MIN_SCORED, learn_fusion
from vitrina.core.evaluation.search_rankings import JUDGED, JudgedQueries
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.fusion import DEFAULT_COVERAGE, DEFAULT_WEIGHT, Fusion
from vitrina.core.search.products import ProductTable
from vitrina.core.search.ranker_features import RankingContext
from vitrina.core.search.result_rules import SearchRules
from vitrina.core.search.signals import PRODUCT_COLUMNS, SearchSignals
from vitrina.core.search.types import Hits, ParsedQuery

N = 3
LEXICAL = Hits(np.array([0, 1], dtype=np.int64), np.array([9.0, 5.0], dtype=np.float32))
SEMANTIC = Hits(np.array([2, 1], dtype=np.int64), np.array([0.9, 0.6], dtype=np.float32))
"""Every query: BM25 prefers product 0, the encoder product 2; product 1 is both branches' second."""


class Parse:
    def parse(self, raw: str) -> ParsedQuery:
        return ParsedQuery(raw=raw, normalised=raw, corrected=raw)


class Same:
    def __init__(self, hits: Hits) -> None:
        self.hits = hits

    def search(self, query: ParsedQuery, k: int = 100) -> Hits:
        return self.hits


def _engine() -> SearchEngine:
    products = ProductTable.from_catalog(
        pd.DataFrame(
            {
                "product_id": [f"p{i}" for i in range(N)],
                "title": ["alpha", "beta", "gamma"],
                "brand": [""] * N,
                **{f"category_l{i}": ["c"] * N for i in (1, 2, 3)},
                "price": np.ones(N),
                "stock": np.ones(N, dtype=np.int64),
                "seller_id": [f"s{i}" for i in range(N)],
                "is_sponsored": [False] * N,
                "is_reported": [False] * N,
                "updated_at": pd.to_datetime(["2026-01-01"] * N, utc=True),
            }
        )
    )
    signals = SearchSignals(
        as_of=pd.Timestamp("2026-02-01", tz="UTC"),
        product=pd.DataFrame({c: np.zeros(N) for c in PRODUCT_COLUMNS}),
        query_clicks=pd.DataFrame({"query": [], "row": [], "clicks": [], "impressions": []}),
        affinity=pd.DataFrame({"user_id": [], "category_l2": [], "affinity": []}),
        frequent_queries=pd.DataFrame({"query": [], "searches": []}),
    )
    return SearchEngine(
        understanding=Parse(),
        lexical=Same(LEXICAL),
        semantic=Same(SEMANTIC),
        products=products,
        context=RankingContext.build(products, signals, lambda t: t.split()),
        ranker=None,
        rules=SearchRules.build(products.frame),
        index_version="v1",
        model_version="test",
    )


def _judged(n: int, relevant: int | None) -> JudgedQueries:
    """``n`` queries, each judging product ``relevant`` relevant (gain 2) and the others not
    (None: every product equally relevant)."""
    rows = [np.arange(N, dtype=np.int64) for _ in range(n)]
    gains = [np.where((np.arange(N) == relevant) | (relevant is None), 2.0, 0.0) for _ in range(n)]
    return JudgedQueries([f"q{i}" for i in range(n)], [JUDGED] * n, rows, gains, [None] * n, "linear")


def _semantic(texts: Sequence[str]) -> list[Hits]:
    return [SEMANTIC for _ in texts]


@pytest.mark.unit
@pytest.mark.parametrize(("relevant", "lexical_wins"), [(0, True), (2, False)])
def test_the_judgments_choose_the_branch_that_ranks_their_relevant_product_first(
    relevant: int, lexical_wins: bool
) -> None:
    engine = _engine()
    choice = learn_fusion(engine, _judged(MIN_SCORED + 5, relevant), _semantic)
    fusion = choice.fusion
    assert (fusion.source, fusion.n_queries) == ("judgments", MIN_SCORED + 5)
    assert (fusion.weight > 0.5) is lexical_wins
    assert choice.curve[(fusion.weight, fusion.coverage)] == pytest.approx(1.0)
    assert engine.fusion == Fusion()  # the engine is left as it was
    engine.fusion = fusion
    top = engine.search("q0").rows[0]
    assert top == relevant
    assert "learnt on" in choice.reason
    engine.close()


@pytest.mark.unit
def test_a_flat_curve_keeps_the_defaults_and_too_few_queries_teach_nothing() -> None:
    engine = _engine()
    # every product equally relevant: every order scores the same
    flat = learn_fusion(engine, _judged(MIN_SCORED, None), _semantic, weights=(0.0, DEFAULT_WEIGHT, 1.0))
    assert len(set(flat.curve.values())) == 1
    assert (flat.fusion.weight, flat.fusion.coverage) == (DEFAULT_WEIGHT, DEFAULT_COVERAGE)
    few = learn_fusion(engine, _judged(MIN_SCORED - 1, 2), _semantic)
    assert few.fusion == Fusion()
    assert few.curve == {}
    assert "defaults" in few.reason
    engine.close()
