"""The batch's keyed lists on a hand-made shop: co-occurrence first, category fallback, buy-again."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.recs_handmade import handmade
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.product_lists import REASON_ALSO_CHOSEN, REASON_TOGETHER
from vitrina.pipelines.recs.keyed_lists import REASON_BUY_AGAIN, keyed_lists

pytestmark = pytest.mark.unit


def test_similar_together_and_buy_again() -> None:
    events = [
        # p1 and p4 are chosen together twice (two users' days), p1 and p2 once
        ("u0", "p1", "add_to_cart", 1.0), ("u0", "p4", "purchase", 1.1),
        ("u1", "p1", "add_to_cart", 2.0), ("u1", "p4", "purchase", 2.2),
        ("u2", "p1", "click", 3.0), ("u2", "p2", "click", 3.1),
        ("u3", "p5", "purchase", 4.0), ("u3", "p5", "purchase", 5.0), ("u3", "p0", "purchase", 6.0),
    ]  # fmt: skip
    data = handmade(events, out_of_stock=["p7"])
    lists = {x.kind: x for x in keyed_lists(data, data.interactions, 4)}
    ids = data.items.ids
    similar, together, again = lists["similar"], lists["together"], lists["buy_again"]
    p1 = int(np.flatnonzero(similar.keys == "p1")[0])
    assert ids[similar.items[p1, 0]] == "p4"
    assert similar.reasons[p1, 0] == REASON_ALSO_CHOSEN
    assert (similar.items != PAD).all(), "every product gets a full list"
    assert not np.isin(similar.items, data.items.index(np.array(["p7"]))).any(), "never an unservable item"
    assert (similar.items != np.arange(len(ids))[:, None]).all(), "never the product itself"
    assert ids[together.items[p1, 0]] == "p4"
    assert together.reasons[p1, 0] == REASON_TOGETHER
    assert together.reasons[p1, 1].startswith("popular en "), "one shared cart is no evidence: fallback"
    row = int(np.flatnonzero(again.keys == "u3")[0])
    assert [ids[i] for i in again.items[row] if i != PAD] == ["p5", "p0"], "most bought first"
    assert again.reasons[row, 0] == REASON_BUY_AGAIN
    assert set(again.keys) == {"u0", "u1", "u3"}, "only buyers have a buy-again list"
