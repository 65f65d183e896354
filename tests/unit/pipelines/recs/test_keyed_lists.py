"""The batch's keyed lists on a hand-made shop: shoppers' co-choices before content, the
category's popular products after them, only servable products, and buy-again."""

from __future__ import annotations

import numpy as np
import pytest
from support.recs_handmade import handmade

from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.product_lists import REASON_ALSO_CHOSEN, REASON_SIMILAR, REASON_TOGETHER
from vitrina.pipelines.recs.keyed_lists import REASON_BUY_AGAIN, keyed_lists

pytestmark = pytest.mark.unit

# twelve shoppers put p1 (category c1) in the cart and buy p3 (c0) the same day; u12 re-buys p5
EVENTS = [
    *((f"u{i}", "p1", "add_to_cart", i + 0.1) for i in range(12)),
    *((f"u{i}", "p3", "purchase", i + 0.2) for i in range(12)),
    ("u12", "p5", "purchase", 1.0), ("u12", "p5", "purchase", 5.0), ("u12", "p0", "purchase", 6.0),
]  # fmt: skip


def test_similar_together_and_buy_again() -> None:
    data = handmade(EVENTS, n_users=14, out_of_stock=["p7"])
    lists = {x.kind: x for x in keyed_lists(data, data.interactions, 4)}
    ids = data.items.ids
    similar, together, again = lists["similar"], lists["together"], lists["buy_again"]
    p1 = int(np.flatnonzero(similar.keys == "p1")[0])
    assert [ids[i] for i in similar.items[p1, :2]] == ["p3", "p4"], "co-chosen first, then the same category"
    assert similar.reasons[p1, :2].tolist() == [REASON_ALSO_CHOSEN, REASON_SIMILAR]
    assert (similar.items != PAD).all(), "every product gets a full list"
    assert not np.isin(similar.items, data.items.index(np.array(["p7"]))).any(), "never an unservable item"
    assert (similar.items != np.arange(len(ids))[:, None]).all(), "never the product itself"
    assert ids[together.items[p1, 0]] == "p3"
    assert together.reasons[p1, 0] == REASON_TOGETHER
    assert together.reasons[p1, 1] == "popular en c1", (
        "nothing else shares its baskets: its category's popular"
    )
    row = int(np.flatnonzero(again.keys == "u12")[0])
    assert [ids[i] for i in again.items[row] if i != PAD] == ["p5"], "only what this shop re-buys"
    assert again.reasons[row, 0] == REASON_BUY_AGAIN
    assert set(again.keys) == {"u12"}, "p3, bought once by each of twelve, is not bought again"
