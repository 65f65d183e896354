"""Business rules: nothing out of stock or reported ever survives; purchases are hidden unless
the history shows them bought again (or the shop says so); survivors keep their order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitrina.core.ranking.interactions import EVENT_CODE, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.business_rules import BusinessRules, RulesConfig

pytestmark = pytest.mark.unit


DAY_US = 86_400_000_000


def purchases(
    pairs: list[tuple[int, int]], event: str = "purchase", days: list[int] | None = None
) -> Interactions:
    """``(user, item)`` events, one per day unless ``days`` says on which day each falls."""
    n = len(pairs)
    return Interactions(
        user=np.array([p[0] for p in pairs], dtype=np.int64),
        item=np.array([p[1] for p in pairs], dtype=np.int64),
        event=np.full(n, EVENT_CODE[event], dtype=np.int64),
        ts_us=np.array(days if days is not None else range(n), dtype=np.int64) * DAY_US,
        session=np.zeros(n, dtype=np.int64),
        position=np.zeros(n, dtype=np.int64),
        page=np.full(n, "cart"),
    )


CATALOG = pd.DataFrame(
    {
        "stock": [5, 0, 3, 2, 7, None],
        "is_reported": [False, False, True, False, False, False],
        "category_l1": ["Electrónica", "Hogar", "Moda", "Supermercado", "Electrónica", "Moda"],
    }
)


def test_each_rule_removes_what_it_should() -> None:
    history = purchases([(0, 3), (0, 4)])  # user 0 bought milk (Supermercado) and a TV
    rules = BusinessRules.build(CATALOG, history, RulesConfig(always_categories=frozenset({"Supermercado"})))
    users = np.array([0, 1])
    candidates = np.array([[4, 0, 1, 2, 3, 5], [4, 0, 1, 2, 3, PAD]])
    assert rules.allowed(users, candidates).tolist() == [
        [False, True, False, False, True, False],  # TV bought, out of stock, reported, milk ok, stock unknown
        [True, True, False, False, True, False],
    ]
    items, scores = rules.apply(users, candidates, np.arange(12.0).reshape(2, 6))
    assert items.tolist() == [[0, 3, PAD, PAD, PAD, PAD], [4, 0, 3, PAD, PAD, PAD]]
    assert scores[1, :3].tolist() == [6.0, 7.0, 10.0]
    assert np.isneginf(scores[0, 2:]).all()


def test_repurchase_overrides_and_clicks_are_not_purchases() -> None:
    history = purchases([(0, 3)])
    strict = BusinessRules.build(CATALOG, history)  # bought once by its only buyer: a one-off
    assert not strict.allowed([0], [[3]])[0, 0]
    catalog = CATALOG.assign(product_id=[f"p{i}" for i in range(6)])
    by_category = RulesConfig.of(always_categories=["Supermercado"])
    assert BusinessRules.build(catalog, history, by_category).allowed([0], [[3]])[0, 0]
    by_item = RulesConfig.of(always_categories=["Supermercado"], never_items=["p3"])
    assert not BusinessRules.build(catalog, history, by_item).allowed([0], [[3]])[0, 0]
    with pytest.raises(ValueError, match="both always and never"):
        RulesConfig.of(always_items=["p3"], never_items=["p3"])
    clicked = BusinessRules.build(CATALOG, purchases([(0, 4)], event="click"))
    assert clicked.allowed([0], [[4]])[0, 0]
    assert BusinessRules.build(CATALOG).exclude().tolist() == [False, True, True, False, False, True]


def test_bad_inputs_are_refused() -> None:
    rules = BusinessRules.build(CATALOG)
    with pytest.raises(ValueError, match="item indices"):
        rules.allowed([0], [[6]])
    with pytest.raises(ValueError, match="one entry per candidate row"):
        rules.allowed([0, 1], [[1]])
    with pytest.raises(ValueError, match="stock"):
        BusinessRules.build(CATALOG.drop(columns="stock"))
    with pytest.raises(ValueError, match="product_id"):
        BusinessRules.build(CATALOG, config=RulesConfig.of(never_items=["p1"]))


def test_a_product_bought_again_by_many_is_repeatable_and_a_one_off_is_not() -> None:
    # users 0..9 buy milk (3) on days 0 and 7, and a TV (4) once; user 10 bought both on day 8
    pairs = [(u, 3) for u in range(10)] * 2 + [(u, 4) for u in range(10)] + [(10, 3), (10, 4)]
    days = [0] * 10 + [7] * 10 + [1] * 10 + [8, 8]
    rules = BusinessRules.build(CATALOG, purchases(pairs, days=days))
    assert rules.repurchasable[3]
    assert not rules.repurchasable[4]
    assert rules.allowed([10], [[3, 4]]).tolist() == [[True, False]]
    # a stricter threshold than the measured rate hides milk too; overrides by category name
    strict = BusinessRules.build(CATALOG, purchases(pairs, days=days), RulesConfig(min_rate=0.95))
    assert not strict.repurchasable[3]
    forced = RulesConfig.of(never_categories=["Supermercado"], always_categories=["Electrónica"])
    flipped = BusinessRules.build(CATALOG, purchases(pairs, days=days), forced)
    assert flipped.allowed([10], [[3, 4]]).tolist() == [[False, True]]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n_items=st.integers(1, 12), n_users=st.integers(1, 6), width=st.integers(1, 8))
def test_no_unservable_item_ever_survives(
    data: st.DataObject, n_items: int, n_users: int, width: int
) -> None:
    stock = data.draw(st.lists(st.integers(-1, 3), min_size=n_items, max_size=n_items))
    reported = data.draw(st.lists(st.booleans(), min_size=n_items, max_size=n_items))
    l1 = data.draw(st.lists(st.sampled_from(["Supermercado", "Moda"]), min_size=n_items, max_size=n_items))
    catalog = pd.DataFrame({"stock": stock, "is_reported": reported, "category_l1": l1})
    bought = data.draw(
        st.lists(st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1)), max_size=10)
    )
    config = RulesConfig.of(always_categories=["Supermercado"])
    rules = BusinessRules.build(catalog, purchases(bought), config)
    rows = [
        data.draw(st.lists(st.integers(PAD, n_items - 1), min_size=width, max_size=width))
        for _ in range(n_users)
    ]
    candidates = np.array(rows, dtype=np.int64)
    users = np.arange(n_users)
    items, _ = rules.apply(users, candidates, np.zeros(candidates.shape))
    for user, row, before in zip(users, items, candidates, strict=True):
        shown = row[row != PAD]
        assert all(stock[i] > 0 and not reported[i] for i in shown)
        assert all(rules.repurchasable[i] for i in shown if (user, i) in set(bought))
        assert all(rules.repurchasable[i] for i in range(n_items) if l1[i] == "Supermercado")
        # survivors are exactly the allowed candidates, in their original order
        expected = [i for i in before if i != PAD and stock[i] > 0 and not reported[i]]
        expected = [i for i in expected if (user, i) not in set(bought) or rules.repurchasable[i]]
        assert shown.tolist() == expected
