"""The publishing pipeline's new-arrivals slot: both served lists carry it, the rule turns it off."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.ranking.interactions import FloatArray, IntArray
from vitrina.core.recs.new_arrivals import REASON_NEW, ArrivalsRule
from vitrina.pipelines.recs.publish import with_new_arrivals

pytestmark = pytest.mark.unit
ObjectArray = npt.NDArray[np.object_]


class Head:
    """Answers items 0, 1, 2 in that order (the products with a history)."""

    name = "head"

    def recommend_with_reasons(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray, ObjectArray]:
        n = len(users)
        items = np.tile(np.array([0, 1, 2])[:k], (n, 1))
        return items, np.tile(np.array([3.0, 2.0, 1.0])[:k], (n, 1)), np.full(items.shape, "", object)


EVENTS: list[Event] = [("u0", "p0", "click", 5.0), ("u1", "p1", "purchase", 6.0), ("u0", "p2", "click", 13.0)]


def test_a_product_created_yesterday_reaches_both_lists_of_the_users_it_fits() -> None:
    # p3 (created on day 13, the data's last) is new; p4 is too old to be
    data = handmade(EVENTS, n_items=6, created_day={"p3": 13.0, "p4": 2.0})
    served, discover = with_new_arrivals(data, ArrivalsRule(slots=1, rank=2), Head(), Head())
    assert discover is not None
    items, _, reasons = served.recommend_with_reasons(np.array([0, 2]), 3)
    assert items[0].tolist() == [0, 3, 1]
    assert reasons[0, 1] == REASON_NEW
    assert items[1].tolist() == [0, 1, 2]  # u2 chose nothing: no guess
    assert discover.recommend_with_reasons(np.array([0]), 3)[0][0].tolist() == [0, 3, 1]


def test_no_slot_no_arrival_no_wrapping() -> None:
    data = handmade(EVENTS, n_items=6, created_day={"p3": 13.0})
    model = Head()
    assert with_new_arrivals(data, ArrivalsRule(slots=0), model, None) == (model, None)
    old = handmade(EVENTS, n_items=6)
    assert with_new_arrivals(old, ArrivalsRule(), model, None) == (model, None)
