"""A new product that matches a query as well as established ones is not ranked as the least
popular of them for lack of history (docs/adr/0044): its behavioural signals are its category's,
shrunk by the little exposure it has had, so a ranker that rewards popularity puts it among
its category's average products, above one whose whole week without views is evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.ranking.training_set import RankingFrame
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.products import ProductTable
from vitrina.core.search.ranker_features import FEATURES, RankingContext
from vitrina.core.search.result_rules import SearchRules
from vitrina.core.search.signals import signals_from_frames
from vitrina.core.search.types import Hits, ParsedQuery

pytestmark = pytest.mark.unit

AS_OF = pd.Timestamp("2026-02-01", tz="UTC")
NEW = 3


class Parse:
    def parse(self, raw: str) -> ParsedQuery:
        text = raw.lower().strip()
        return ParsedQuery(raw=raw, normalised=text, corrected=text)


class Fixed:
    """Every product found with the same score: the text cannot tell them apart."""

    def search(self, query: ParsedQuery, k: int = 100) -> Hits:
        return Hits(np.array([NEW, 0, 1, 2], dtype=np.int64), np.ones(4, dtype=np.float32))


def _products() -> ProductTable:
    n = 4
    return ProductTable.from_catalog(
        pd.DataFrame(
            {
                "product_id": [f"p{i}" for i in range(n)],
                "title": ["taladro bosch"] * n,
                "brand": ["bosch"] * n,
                "category_l1": ["hogar"] * n,
                "category_l2": ["herramientas"] * n,
                "category_l3": ["taladros"] * n,
                "price": [50.0] * n,
                "stock": [5] * n,
                "seller_id": ["s"] * n,
                "is_sponsored": [False] * n,
                "is_reported": [False] * n,
                "updated_at": [AS_OF - pd.Timedelta(hours=1)] * n,
                # p3 was listed an hour before the signals' cut-off, the others months before
                "created_at": [AS_OF - pd.Timedelta(days=90)] * 3 + [AS_OF - pd.Timedelta(hours=1)],
            }
        )
    )


def _popularity_ranker() -> LambdaRanker:
    """A ranker that learnt "more views in the week, more relevant" and nothing else."""
    rng = np.random.default_rng(0)
    n_queries, per = 80, 10
    features = pd.DataFrame(rng.random((n_queries * per, len(FEATURES))), columns=list(FEATURES))
    features["log_views_7d"] = rng.uniform(0.0, 5.0, len(features))
    labels = np.minimum(features["log_views_7d"].to_numpy(), 4.99).astype(np.int64)
    groups = np.repeat(np.arange(n_queries), per)
    frame = RankingFrame(features, labels, groups, groups, np.arange(len(groups)))
    half = n_queries // 2 * per
    return LambdaRanker(max_rounds=60, num_threads=1).fit(
        frame.take(np.arange(len(groups)) < half), frame.take(np.arange(len(groups)) >= half), n_trials=1
    )


def test_a_new_product_ranks_among_its_category_average_not_below_a_product_without_views() -> None:
    products = _products()
    empty = pd.DataFrame({"query": pd.Series(dtype=str), "product_id": pd.Series(dtype=str), "n": []})
    item = pd.DataFrame(
        {
            "product_id": ["p0", "p1", "p2"],  # p3 has no row at all: no history
            "item_views_7d": [70.0, 7.0, 0.0],
            "item_clicks_7d": [7.0, 1.0, 0.0],
            "item_purchases_7d": [1.0, 0.0, 0.0],
        }
    )
    affinity = pd.DataFrame(
        {"user_id": [], "category_l2": [], "user_l2_positives_30d": [], "user_l2_affinity_30d": []}
    )
    searched = pd.DataFrame({"query": ["taladro"], "searches": [1]})
    signals = signals_from_frames(products, AS_OF, item, affinity, empty, empty.copy(), searched, str.lower)
    engine = SearchEngine(
        understanding=Parse(),
        lexical=Fixed(),
        semantic=Fixed(),
        products=products,
        context=RankingContext.build(products, signals, lambda t: t.split()),
        ranker=_popularity_ranker(),
        rules=SearchRules.build(products.frame),
        index_version="products-v1",
        model_version="test",
    )
    ranked = engine.search("taladro bosch", mode="hybrid_ltr").rows.tolist()
    engine.close()
    # p0 is popular, p1 below the category's average, p2 saw no view in a whole week; the new
    # product has had an hour: the category's rate carries it above the two
    assert ranked == [0, NEW, 1, 2]
