"""Search ranking features and training rows on a hand-made catalog."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vitrina.core.search.products import ProductTable
from vitrina.core.search.propensity import PositionBias
from vitrina.core.search.ranker_examples import (
    ALWAYS_LISTED,
    build_point_in_time_frame,
    build_ranking_frame,
    impressions,
    listing_times,
)
from vitrina.core.search.ranker_features import FEATURES, RankingContext, candidate_features, merge_hits
from vitrina.core.search.signals import COUNT_COLUMNS, PRODUCT_COLUMNS, SearchSignals
from vitrina.core.search.types import Hits, ParsedQuery


def analyse(text: str) -> list[str]:
    """A toy Spanish plural stripper standing in for query understanding's analyser."""
    return [t[:-2] if t.endswith("es") else t.rstrip("s") for t in text.lower().split()]


def _products() -> ProductTable:
    return ProductTable.from_catalog(
        pd.DataFrame(
            {
                "product_id": ["p1", "p2", "p3"],
                "title": ["Celular Samsung Nova", "Funda Samsung", "Celular Motorola G"],
                "brand": ["Samsung", "Samsung", "Motorola"],
                "category_l1": ["Tecnología"] * 3,
                "category_l2": ["Celulares", "Accesorios", "Celulares"],
                "category_l3": ["Celulares", "Fundas", "Celulares"],
                "price": [100.0, 10.0, 300.0],
                "stock": [5, 0, 2],
                "seller_id": ["s1", "s1", "s2"],
                "is_sponsored": [False, True, False],
                "is_reported": [False, False, False],
                "updated_at": pd.to_datetime(["2026-01-01"] * 3, utc=True),
            }
        )
    )


def _context(products: ProductTable, level: float = 0.0) -> RankingContext:
    signals = SearchSignals(
        as_of=pd.Timestamp("2026-02-01", tz="UTC"),
        product=pd.DataFrame({c: np.arange(3, dtype=float) + level for c in PRODUCT_COLUMNS}),
        query_clicks=pd.DataFrame(
            {"query": ["celular samsung"], "row": [0], "clicks": [4.0], "impressions": [10.0]}
        ),
        affinity=pd.DataFrame(
            {"user_id": ["u1", "u1"], "category_l2": ["Celulares", "Audio"], "affinity": [0.75, 0.25]}
        ),
        frequent_queries=pd.DataFrame({"query": ["celular samsung"], "searches": [3]}),
    )
    return RankingContext.build(products, signals, analyse)


def _query(text: str, synonyms: tuple[str, ...] = ()) -> ParsedQuery:
    return ParsedQuery(raw=text, normalised=text, corrected=text, synonyms=synonyms)


@pytest.mark.unit
def test_merge_hits_unions_and_keeps_both_scores() -> None:
    lexical = Hits(np.array([2, 0]), np.array([5.0, 3.0], dtype=np.float32))
    semantic = Hits(np.array([0, 1]), np.array([0.9, 0.8], dtype=np.float32))
    rows, scores = merge_hits(lexical, semantic)
    assert rows.tolist() == [2, 0, 1]
    np.testing.assert_allclose(scores[1], [3.0, np.log2(3), 0.9, 1.0])
    assert np.isnan(scores[0, 2])
    assert np.isnan(scores[2, 0])


@pytest.mark.unit
def test_text_behaviour_and_personalisation_features() -> None:
    products = _products()
    context = _context(products)
    rows, retrieval = merge_hits(Hits(np.array([0, 1, 2]), np.ones(3, dtype=np.float32)), Hits.empty())
    frame = candidate_features(context, _query("celular samsung"), rows, retrieval, user_id="u1")
    assert list(frame.columns) == list(FEATURES)
    by = frame.set_index(pd.Index(rows))
    assert by.loc[0, "query_coverage"] == 1.0
    assert by.loc[2, "query_coverage"] == 0.5
    assert by.loc[0, "brand_match"] == 1.0
    assert by.loc[2, "brand_match"] == 0.0
    assert by.loc[0, "category_match"] == 1.0
    assert by.loc[1, "category_match"] == 0.0
    assert by.loc[0, "qp_log_clicks"] == pytest.approx(np.log1p(4.0))
    assert by.loc[0, "user_l2_affinity"] == pytest.approx(0.75)
    assert by.loc[1, "user_l2_affinity"] == 0.0
    assert by.loc[1, "in_stock"] == 0.0
    assert by.loc[1, "sponsored"] == 1.0
    exact = candidate_features(context, _query("celular samsung nova"), rows, retrieval)
    assert exact["exact_title"].tolist() == [1.0, 0.0, 0.0]
    assert exact["user_l2_affinity"].isna().all()  # anonymous: no personalisation
    synonym = candidate_features(context, _query("smartphone", ("celular",)), rows, retrieval)
    assert synonym["synonym_match"].tolist() == [1.0, 0.0, 1.0]


@pytest.mark.unit
def test_training_rows_label_clicks_and_weight_them_by_position() -> None:
    products = _products()
    context = _context(products)
    logs = pd.DataFrame(
        {
            "search_id": ["s1"],
            "user_id": ["u1"],
            "query": ["celular"],
            "ts": pd.to_datetime(["2026-02-02"], utc=True),
            "results_shown": [["p2", "p3", "p1"]],
            "results_clicked": [["p1", "p3"]],
            "results_purchased": [["p1"]],
        }
    )
    bias = PositionBias(theta=np.array([1.0, 0.5, 0.25]))
    frame = build_ranking_frame(
        logs,
        products,
        context,
        understand=_query,
        retrieve=lambda q: (Hits(np.array([2]), np.ones(1, dtype=np.float32)), Hits.empty()),
        bias=bias,
    )
    assert frame.items.tolist() == [2, 1, 0]  # retrieved first, then the shown ones it missed
    assert frame.labels.tolist() == [1, 0, 2]
    assert frame.weights is not None
    assert frame.weights.tolist() == [2.0, 1.0, 4.0]
    shown = impressions(logs, str.lower)
    assert shown["position"].tolist() == [1, 2, 3]
    assert shown["clicked"].tolist() == [0, 1, 1]


@pytest.mark.unit
def test_shown_only_rows_are_the_page_with_its_retrieval_features() -> None:
    products = _products()
    logs = pd.DataFrame(
        {
            "search_id": ["s1"],
            "user_id": ["u1"],
            "query": ["celular"],
            "ts": pd.to_datetime(["2026-02-02"], utc=True),
            "results_shown": [["p2", "p3"]],
            "results_clicked": [["p3"]],
            "results_purchased": [[]],
        }
    )
    hits = Hits(np.array([2, 0]), np.array([2.0, 1.0], dtype=np.float32))
    args = (logs, products, _context(products), _query, lambda q: (hits, Hits.empty()))
    bias = PositionBias(theta=np.array([1.0, 0.5]))
    assert build_ranking_frame(*args, bias).items.tolist() == [2, 0, 1]  # p1 retrieved, not shown
    page = build_ranking_frame(*args, bias, shown_only=True)
    assert page.items.tolist() == [2, 1]
    assert page.labels.tolist() == [1, 0]
    assert page.weights is not None
    assert page.weights.tolist() == [2.0, 1.0]  # p3 clicked at position 2
    assert page.features["bm25"].notna().tolist() == [True, False]  # retrieved p3 keeps its BM25


@pytest.mark.unit
def test_each_training_search_has_the_signals_of_the_start_of_its_own_day() -> None:
    """Searches of a window are described as serving would have described them that day:
    the signals as of the start of their day, not as of the window's start (docs/adr/0041)."""
    products = _products()
    asked: list[pd.Timestamp] = []

    def context_as_of(day: pd.Timestamp) -> RankingContext:
        asked.append(day)  # a signal level that says which day's signals a row carries
        return _context(products, level=float((day - pd.Timestamp("2026-02-01", tz="UTC")).days) * 100)

    logs = pd.DataFrame(
        {
            "search_id": ["a", "b", "c"],
            "user_id": ["u1", "u1", "u2"],
            "query": ["celular", "funda", "celular"],
            "ts": pd.to_datetime(["2026-02-01 09:00", "2026-02-03 23:59", "2026-02-03 00:00"], utc=True),
            "results_shown": [["p1", "p3"], ["p2"], ["p3", "p1"]],
            "results_clicked": [["p1"], ["p2"], ["p3"]],
            "results_purchased": [[], [], []],
        }
    ).sort_values("ts")
    frame = build_point_in_time_frame(
        logs,
        products,
        context_as_of,
        understand=_query,
        retrieve=lambda q: (Hits.empty(), Hits.empty()),
        bias=PositionBias(theta=np.array([1.0, 0.5])),
    )
    assert asked == [pd.Timestamp("2026-02-01", tz="UTC"), pd.Timestamp("2026-02-03", tz="UTC")]
    assert frame.groups.tolist() == [0, 0, 1, 1, 2]  # time order kept: validation takes the last
    assert frame.users.tolist() == frame.groups.tolist()
    assert frame.items.tolist() == [0, 2, 2, 0, 1]
    assert frame.labels.tolist() == [1, 0, 1, 0, 1]
    column = PRODUCT_COLUMNS[0]
    expected = np.asarray(frame.items, dtype=float) + np.array([0, 0, 200, 200, 200])
    assert frame.features[column].tolist() == expected.tolist()


@pytest.mark.unit
def test_a_product_no_one_was_shown_has_no_query_history_either() -> None:
    """Its query–product counts are missing like its product counts (docs/adr/0044); a shown
    product without history for this query keeps its zeros, and qp_ctr is the prior for both."""
    products = _products()
    signals = SearchSignals(
        as_of=pd.Timestamp("2026-02-01", tz="UTC"),
        product=pd.DataFrame(
            {c: [1.0, 0.0, np.nan] if c in COUNT_COLUMNS else [1.0] * 3 for c in PRODUCT_COLUMNS}
        ),
        query_clicks=pd.DataFrame({"query": ["celular"], "row": [0], "clicks": [4.0], "impressions": [10.0]}),
        affinity=pd.DataFrame({"user_id": [], "category_l2": [], "affinity": []}),
        frequent_queries=pd.DataFrame({"query": [], "searches": []}),
    )
    context = RankingContext.build(products, signals, analyse)
    rows, retrieval = merge_hits(Hits(np.array([0, 1, 2]), np.ones(3, dtype=np.float32)), Hits.empty())
    frame = candidate_features(context, _query("celular"), rows, retrieval)
    assert frame["qp_log_clicks"].tolist()[:2] == pytest.approx([np.log1p(4.0), 0.0])
    assert frame["qp_log_shown"].tolist()[:2] == pytest.approx([np.log1p(10.0), 0.0])
    assert np.isnan(frame.loc[2, "qp_log_clicks"])
    assert np.isnan(frame.loc[2, "qp_log_shown"])
    assert frame.loc[2, "qp_ctr"] == pytest.approx(0.1)
    assert np.isnan(frame.loc[2, "log_views_7d"])


@pytest.mark.unit
def test_training_searches_see_only_products_listed_before_them() -> None:
    """The product table is today's catalog: a product listed after a search is not one of its
    candidates (it would be a negative without history that no one could have clicked); a
    product without a listing time is a candidate of every search (docs/adr/0044)."""
    products = _products()
    catalog = products.frame.assign(created_at=pd.to_datetime(["2026-01-01", "2026-02-05", None], utc=True))
    listed = listing_times(products, catalog)
    assert listed[0] == pd.Timestamp("2026-01-01", tz="UTC").value // 1000
    assert listed[2] == ALWAYS_LISTED
    assert (listing_times(products, products.frame) == ALWAYS_LISTED).all()
    logs = pd.DataFrame(
        {
            "search_id": ["before", "after"],
            "user_id": ["u1", "u1"],
            "query": ["celular", "celular"],
            "ts": pd.to_datetime(["2026-02-02", "2026-02-06"], utc=True),
            "results_shown": [["p1"], ["p1"]],
            "results_clicked": [["p1"], ["p1"]],
            "results_purchased": [[], []],
        }
    )
    frame = build_point_in_time_frame(
        logs,
        products,
        lambda day: _context(products),
        understand=_query,
        retrieve=lambda q: (Hits(np.array([0, 1, 2]), np.ones(3, dtype=np.float32)), Hits.empty()),
        bias=PositionBias(theta=np.array([1.0])),
        listed_us=listed,
    )
    assert frame.items[frame.groups == 0].tolist() == [0, 2]  # p2 listed on 02-05: not yet
    assert frame.items[frame.groups == 1].tolist() == [0, 1, 2]
