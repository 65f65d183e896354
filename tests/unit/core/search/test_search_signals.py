"""Search signals derived from hand-made frames, without a lake, and their own files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vitrina.core.search.products import ProductTable
from vitrina.core.search.signals import (
    COUNT_COLUMNS,
    COUNT_WINDOW_DAYS,
    MIN_SHOWN_UNCLICKED,
    MIN_USER_EVENTS,
    PRODUCT_COLUMNS,
    SearchSignals,
    has_exposure,
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
    assert signals.product["log_views_7d"].tolist() == [0.0, np.log1p(9.0), 0.0]
    assert signals.query_lookup() == {
        ("zapatos", 0): (1.0, 3.0),
        ("bota", 2): (0.0, float(MIN_SHOWN_UNCLICKED)),
    }
    assert signals.affinity_lookup() == {"u1": {"y": 0.5}}  # u2 has too few positives
    assert signals.frequent_queries.to_dict("list") == {"query": ["Zapatos", "bota"], "searches": [4, 2]}


def test_signals_save_and_load_their_own_files(tmp_path: Path) -> None:
    signals = _signals()
    signals.save(str(tmp_path / "signals"))
    loaded = SearchSignals.load(str(tmp_path / "signals"))
    assert loaded.as_of == signals.as_of
    pd.testing.assert_frame_equal(loaded.product, signals.product)
    pd.testing.assert_frame_equal(loaded.query_clicks, signals.query_clicks)
    pd.testing.assert_frame_equal(loaded.frequent_queries, signals.frequent_queries)


def test_a_new_product_no_one_was_shown_has_missing_counts_not_zeros() -> None:
    """Listed for less than the counts' window (or not yet) and shown to no one: nothing to
    read, so the counts are missing (the ranker learns where such products go) instead of
    zeros that say "shown and passed over". Zeros stay where they are evidence: a product
    listed for the whole window and never shown, one shown in search but never viewed, one
    whose listing time is unknown (docs/adr/0044)."""
    ids = ["new", "old", "searched", "unknown", "unlisted"]
    products = ProductTable.from_catalog(
        _products().frame.iloc[[0, 0, 0, 0, 0]].assign(product_id=ids, category_l3=["z"] * 5)
    )
    item = pd.DataFrame(
        {
            "product_id": ["new", "old", "searched", "unknown"],
            "item_views_7d": [0.0, 0.0, 0.0, 0.0],
            "item_clicks_7d": [0.0, 0.0, 0.0, 0.0],
            "item_purchases_7d": [0.0, 0.0, 0.0, 0.0],
            "item_ctr_7d": [np.nan] * 4,
            "item_freshness_days": [2.0, COUNT_WINDOW_DAYS, 1.0, np.nan],
        }
    )
    affinity = pd.DataFrame(
        {"user_id": [], "category_l2": [], "user_l2_positives_30d": [], "user_l2_affinity_30d": []}
    )
    shown = pd.DataFrame({"query": ["bota"], "product_id": ["searched"], "n": [10]})
    clicked = pd.DataFrame({"query": ["bota"], "product_id": ["searched"], "n": [2]})
    searched = pd.DataFrame({"query": ["bota"], "searches": [8]})
    as_of = pd.Timestamp("2026-02-01", tz="UTC")
    signals = signals_from_frames(products, as_of, item, affinity, shown, clicked, searched, str.lower)
    product = signals.product.set_axis(products.product_ids.tolist())
    missing = {"new": True, "old": False, "searched": False, "unknown": False, "unlisted": True}
    assert dict(zip(ids, (~has_exposure(signals.product)).tolist(), strict=True)) == missing
    for column in COUNT_COLUMNS:
        assert product[column].isna().to_dict() == missing
    assert product["ctr_7d"].isna().all()  # no views: no 7-day CTR, as before
    assert product.loc["new", "search_ctr"] == pytest.approx(2.0 / 10.0)  # no search data: the prior
    assert product["price_ratio_l3"].notna().all()  # not behaviour


def test_signals_saved_before_missing_counts_read_as_all_exposed() -> None:
    legacy = pd.DataFrame({c: [0.0, 1.0] for c in PRODUCT_COLUMNS})
    assert has_exposure(legacy).tolist() == [True, True]
