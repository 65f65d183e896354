"""Per-product lists: basket co-occurrence, content neighbours, their blend and the fallback."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.product_lists import (
    REASON_POPULAR_SHOP,
    baskets,
    blend,
    content_neighbours,
    fill_with_category_popular,
)

pytestmark = pytest.mark.unit

DAY = 86_400_000_000


def test_baskets_are_sessions_or_the_users_day() -> None:
    session = np.array([0, 0, -1, -1, -1])
    user = np.array([0, 0, 1, 1, 1])
    ts = np.array([0, 1, 0, 5, DAY + 1])
    got = baskets(session, user, ts)
    assert got[0] == got[1]
    assert got[2] == got[3] != got[4], "same user, same day: one basket; next day: another"
    assert got[2] not in (got[0], -1)


def test_content_neighbours_never_return_the_item_or_blocked_ones() -> None:
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.95, 0.0]])
    items, scores = content_neighbours(vectors, 2, blocked=np.array([False, False, False, True]))
    assert items[0].tolist() == [1, 2]
    assert items[2].tolist() == [1, 0]
    assert scores[0, 0] > scores[0, 1]


def test_blend_sums_both_lists_and_names_the_larger_part() -> None:
    first = (np.array([[1, 2, PAD]]), np.array([[0.5, 0.2, -np.inf]]))
    second = (np.array([[2, 3, 1]]), np.array([[0.9, 0.8, 0.1]]))
    items, scores, reasons = blend(first, second, 3, ("juntos", "parecido"))
    assert items[0].tolist() == [2, 3, 1]
    assert np.allclose(scores[0], [1.1, 0.8, 0.6])
    assert reasons[0].tolist() == ["parecido", "parecido", "juntos"]


def test_fallback_pads_with_the_anchor_category_then_the_shop() -> None:
    category = np.array([0, 0, 0, 1, 1])
    names = np.array(["zapatos", "bolsos"], dtype=object)
    popularity = np.array([1.0, 5.0, 3.0, 9.0, 0.0])
    items = np.array([[2, PAD, PAD, PAD], [PAD, PAD, PAD, PAD]])
    scores = np.array([[0.4, -np.inf, -np.inf, -np.inf], [-np.inf] * 4])
    reasons = np.array([["juntos", "", "", ""], [""] * 4], dtype=object)
    blocked = np.array([False, False, False, False, True])
    got_items, got_scores, got_reasons = fill_with_category_popular(
        items, scores, reasons, category, names, popularity, blocked, anchors=np.array([0, 3])
    )
    assert got_items[0].tolist() == [2, 1, 3, PAD], "its category (not itself, not twice), then the shop"
    assert got_reasons[0].tolist()[:3] == ["juntos", "popular en zapatos", REASON_POPULAR_SHOP]
    assert got_items[1].tolist()[:3] == [1, 2, 0], "bolsos has nothing servable but itself: the shop's"
    assert np.all(np.diff(got_scores[0][:3]) < 0), "padding ranks below the real neighbours"


def test_blend_of_empty_rows_and_ties() -> None:
    empty = (np.full((2, 2), PAD), np.full((2, 2), -np.inf))
    items, _, reasons = blend(empty, empty, 2, ("a", "b"))
    assert (items == PAD).all()
    assert reasons.tolist() == [["", ""], ["", ""]]
    tied = (np.array([[5, 3], [PAD, PAD]]), np.array([[1.0, 1.0], [-np.inf, -np.inf]]))
    items, _, reasons = blend(tied, empty, 2, ("a", "b"))
    assert items.tolist() == [[3, 5], [PAD, PAD]], "ties: lower item first"
    assert reasons[0].tolist() == ["a", "a"]
