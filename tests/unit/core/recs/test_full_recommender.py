"""Pure parts of the full model: candidate union and head-only diversification."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.full import diversify_head, union_rows
from vitrina.core.recs.mmr import ItemSimilarity

pytestmark = pytest.mark.unit


def test_union_keeps_first_source_order_and_drops_repeats() -> None:
    first = np.array([[1, 2, PAD], [5, 6, 7]])
    second = np.array([[2, 3], [7, 5]])
    assert union_rows(first, second).tolist() == [[1, 2, PAD, PAD, 3], [5, 6, 7, PAD, PAD]]


def test_union_rows_hold_each_item_once_on_random_rows() -> None:
    rng = np.random.default_rng(0)
    first = np.array([rng.choice(30, 10, replace=False) for _ in range(50)])
    second = np.array([rng.choice(30, 10, replace=False) for _ in range(50)])
    merged = union_rows(first, second)
    for row, a, b in zip(merged, first, second, strict=True):
        kept = row[row != PAD]
        assert len(kept) == len(set(kept))
        assert set(kept) == set(a) | set(b)
        assert (row[:10] == a).all()


def test_head_only_diversification() -> None:
    categories = np.array([0, 0, 0, 1, 1, 2])
    ranked = np.array([[0, 1, 2, 3, 4, 5]])
    scores = np.array([[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]])
    similarity = ItemSimilarity(categories)
    # lambda 1: pure relevance, the ranked order is kept
    same, _ = diversify_head(ranked, scores, 6, similarity, 1.0, depth=3, pool=6)
    assert same.tolist() == ranked.tolist()
    # a low lambda spreads the head over categories; the tail keeps ranked order without repeats
    items, _ = diversify_head(ranked, scores, 6, similarity, 0.3, depth=3, pool=6)
    head, tail = items[0, :3], items[0, 3:]
    assert len(set(categories[head])) == 3
    assert sorted([*head, *tail]) == list(range(6))
    assert list(tail) == sorted(tail)


def test_the_top_slots_can_be_kept_as_ranked() -> None:
    categories = np.array([0, 0, 0, 1, 1, 2])
    ranked = np.array([[0, 1, 2, 3, 4, 5]])
    scores = np.array([[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]])
    similarity = ItemSimilarity(categories)
    items, _ = diversify_head(ranked, scores, 6, similarity, 0.3, depth=4, pool=6, keep=2)
    assert items[0, :2].tolist() == [0, 1]  # kept, although both are category 0
    assert set(categories[items[0, 2:4]]) == {1, 2}  # MMR counts the kept slots as picks
    assert sorted(items[0].tolist()) == list(range(6))
    whole, _ = diversify_head(ranked, scores, 6, similarity, 0.3, depth=4, pool=6, keep=4)
    assert whole.tolist() == ranked.tolist()


def test_reasons_name_the_latest_item_seen_in_the_same_category() -> None:
    import datetime as dt

    import pandas as pd

    from vitrina.core.evaluation.split import TemporalSplit
    from vitrina.core.recs.dataset import build_recs_data
    from vitrina.core.recs.full import REASON_DEFAULT, explain

    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    catalog = pd.DataFrame(
        {
            "product_id": ["a", "b", "c", "d"],
            "title": ["Zapatilla A", "Zapatilla B", "Zapatilla C", "Licuadora D"],
            "category_l2": ["Calzado", "Calzado", "Calzado", "Cocina"],
            "stock": [1, 1, 1, 1],
            "is_reported": [False] * 4,
        }
    )
    users = pd.DataFrame({"user_id": ["u1", "u2"]})
    events = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2"],
            "product_id": ["a", "b", "d"],
            "event_type": ["click", "purchase", "view"],
            "ts": [t0, t0 + dt.timedelta(hours=1), t0],
            "session_id": ["s1", "s1", "s2"],
            "page": ["home"] * 3,
            "position": [1, 2, 1],
        }
    )
    split = TemporalSplit(t0 + dt.timedelta(days=1), t0 + dt.timedelta(days=2))
    data = build_recs_data(catalog, users, events, split)
    recommended = np.array([[2, 3, 1, PAD], [2, 0, 3, PAD]])  # c, d, b / c, a, d
    reasons = explain(data, data.interactions, np.array([0, 1]), recommended)
    # u1's latest shoe is b: c is explained by b, b itself gets the generic reason
    assert reasons[0].tolist() == ["porque viste Zapatilla B", REASON_DEFAULT, REASON_DEFAULT, ""]
    # u2 only saw an impression (not a choice): nothing to cite
    assert reasons[1].tolist() == [REASON_DEFAULT, REASON_DEFAULT, REASON_DEFAULT, ""]
