"""Search signals derived from hand-made frames, without a lake, and their own files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vitrina.core.search.products import ProductTable
from vitrina.core.search.signals import (
    MIN_SHOWN_UNCLICKED,
    MIN_USER_EVENTS,
    PRODUCT_COLUMNS,
    SearchSignals,
    days_listed,
    product_signals,
    signals_from_frames,
)

pytestmark = pytest.mark.unit


def _products() -> ProductTable:
    ids = ["p0", "p1", "p2"]
    return ProductTable.from_catalog(
        pd.DataFrame(
            {
                "product_id": ids,
                "title": ["a", "b", "c"],
                "brand": ["m"] * 3,
                "category_l1": ["x"] * 3,
                "category_l2": ["y"] * 3,
                "category_l3": ["z", "z", "w"],
                "price": [10.0, 30.0, 5.0],
                "stock": [1, 1, 1],
                "seller_id": ["s"] * 3,
                "is_sponsored": [False] * 3,
                "is_reported": [False] * 3,
                "updated_at": pd.to_datetime(["2026-01-01"] * 3, utc=True),
                # p2 was listed a day before the signals' cut-off, p1 (pre-dating it) long before
                "created_at": pd.to_datetime(["2025-06-01", "2025-06-01", "2026-01-31"], utc=True),
            }
        )
    )


def _signals() -> SearchSignals:
    item = pd.DataFrame(
        {
            "product_id": ["p1", "gone"],
            "item_views_7d": [9.0, 1.0],
            "item_clicks_7d": [3.0, 1.0],
            "item_purchases_7d": [1.0, 0.0],
            "item_ctr_7d": [0.3, 1.0],
        }
    )
    affinity = pd.DataFrame(
        {
            "user_id": ["u1", "u2"],
            "category_l2": ["y", "y"],
            "user_l2_positives_30d": [MIN_USER_EVENTS + 1, MIN_USER_EVENTS],
            "user_l2_affinity_30d": [0.5, 1.0],
        }
    )
    shown = pd.DataFrame(
        {
            "query": ["Zapatos", "zapatos", "bota"],
            "product_id": ["p0", "p0", "p2"],
            "n": [2, 1, MIN_SHOWN_UNCLICKED],
        }
    )
    clicked = pd.DataFrame({"query": ["Zapatos"], "product_id": ["p0"], "n": [1]})
    searched = pd.DataFrame({"query": ["Zapatos", "zapatos", "bota"], "searches": [3, 1, 2]})
    as_of = pd.Timestamp("2026-02-01", tz="UTC")
    return signals_from_frames(_products(), as_of, item, affinity, shown, clicked, searched, str.lower)


def test_signals_are_aligned_to_rows_and_keyed_by_the_normalised_query() -> None:
    signals = _signals()
    assert list(signals.product.columns) == list(PRODUCT_COLUMNS)
    views = signals.product["log_views_7d"].to_numpy()
    assert views[1] > views[0] > 0.0  # p0 saw no views in 7 days: below p1, above nothing
    assert signals.product["log_days_listed"].tolist() == pytest.approx(
        [np.log1p(245.0), np.log1p(245.0), np.log1p(1.0)]
    )
    assert signals.query_lookup() == {
        ("zapatos", 0): (1.0, 3.0),
        ("bota", 2): (0.0, float(MIN_SHOWN_UNCLICKED)),
    }
    assert signals.affinity_lookup() == {"u1": {"y": 0.5}}  # u2 has too few positives
    assert signals.frequent_queries.to_dict("list") == {"query": ["Zapatos", "bota"], "searches": [4, 2]}


def test_a_new_product_without_history_is_an_average_product_of_its_category_not_an_unpopular_one() -> None:
    products = _products()
    as_of = pd.Timestamp("2026-02-01", tz="UTC")
    item = pd.DataFrame(
        {
            "product_id": ["p0", "p1"],
            "item_views_7d": [0.0, 14.0],
            "item_clicks_7d": [0.0, 7.0],
            "item_purchases_7d": [0.0, 1.0],
        }
    )
    product, priors = product_signals(products, as_of, item, np.array([0.0, 10.0, 0.0]), np.zeros(3))
    k = dict(zip(priors["rate"], priors["strength"], strict=True))["log_views_7d"]
    # days of exposure: p0 and p1 the whole 7, p2 (listed a day ago) 1; p2 alone in its category
    catalog = 14.0 / 15.0
    z, w = (14.0 + k * catalog) / (14.0 + k), (0.0 + k * catalog) / (1.0 + k)
    rates = np.array([(0.0 + k * z) / (7.0 + k), (14.0 + k * z) / (7.0 + k), (0.0 + k * w) / (1.0 + k)])
    assert product["log_views_7d"].tolist() == pytest.approx(np.log1p(7.0 * rates).tolist())
    # a day without views says less than a week without views: the new product ranks above p0
    assert product["log_views_7d"][0] < product["log_views_7d"][2] < product["log_views_7d"][1]
    assert product["log_search_shown"].tolist() == pytest.approx(np.log1p([0.0, 10.0, 0.0]).tolist())
    assert set(priors["rate"]) == {
        "log_views_7d",
        "log_clicks_7d",
        "log_purchases_7d",
        "ctr_7d",
        "search_ctr",
    }


def test_without_creation_times_every_product_had_the_whole_window() -> None:
    frame = _products().frame.drop(columns=["created_at"])
    products = ProductTable.from_catalog(frame)
    assert np.isnan(days_listed(products, pd.Timestamp("2026-02-01", tz="UTC"))).all()
    item = pd.DataFrame(
        {
            "product_id": ["p0", "p1"],
            "item_views_7d": [7.0, 7.0],
            "item_clicks_7d": [0.0, 0.0],
            "item_purchases_7d": [0.0, 0.0],
        }
    )
    product, _ = product_signals(
        products, pd.Timestamp("2026-02-01", tz="UTC"), item, np.zeros(3), np.zeros(3)
    )
    assert product["log_days_listed"].isna().all()
    assert product["log_views_7d"][0] == product["log_views_7d"][1]


def test_signals_save_and_load_their_own_files(tmp_path: Path) -> None:
    signals = _signals()
    signals.save(str(tmp_path / "signals"))
    loaded = SearchSignals.load(str(tmp_path / "signals"))
    assert loaded.as_of == signals.as_of
    pd.testing.assert_frame_equal(loaded.product, signals.product)
    pd.testing.assert_frame_equal(loaded.query_clicks, signals.query_clicks)
    pd.testing.assert_frame_equal(loaded.frequent_queries, signals.frequent_queries)
    pd.testing.assert_frame_equal(loaded.priors, signals.priors)
