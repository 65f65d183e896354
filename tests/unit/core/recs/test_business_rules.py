"""Business rules: nothing out of stock or reported ever survives; purchases are hidden except
in repurchase categories; survivors keep their order."""

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


def purchases(pairs: list[tuple[int, int]], event: str = "purchase") -> Interactions:
    n = len(pairs)
    return Interactions(
        user=np.array([p[0] for p in pairs], dtype=np.int64),
        item=np.array([p[1] for p in pairs], dtype=np.int64),
        event=np.full(n, EVENT_CODE[event], dtype=np.int64),
        ts_us=np.arange(n, dtype=np.int64),
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
    rules = BusinessRules.build(CATALOG, history)
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


def test_repurchase_categories_are_configurable_and_clicks_are_not_purchases() -> None:
    history = purchases([(0, 3)])
    strict = BusinessRules.build(CATALOG, history, RulesConfig(repurchase_l1=frozenset()))
    assert not strict.allowed([0], [[3]])[0, 0]
    clicked = BusinessRules.build(CATALOG, purchases([(0, 4)], event="click"))
    assert clicked.allowed([0], [[4]])[0, 0]
    assert BusinessRules.build(CATALOG).exclude().tolist() == [False, True, True, False, False, True]


def test_bad_inputs_are_refused() -> None:
    rules = BusinessRules.build(CATALOG)
    with pytest.raises(ValueError, match="item indices"):
        rules.allowed([0], [[6]])
    with pytest.raises(ValueError, match="one entry per candidate row"):
        rules.allowed([0, 1], [[1]])
    with pytest.raises(ValueError, match="category_l1"):
        BusinessRules.build(CATALOG.drop(columns="category_l1"))


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
    rules = BusinessRules.build(catalog, purchases(bought))
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
        assert all(l1[i] == "Supermercado" for i in shown if (user, i) in set(bought))
        # survivors are exactly the allowed candidates, in their original order
        expected = [i for i in before if i != PAD and stock[i] > 0 and not reported[i]]
        expected = [i for i in expected if (user, i) not in set(bought) or l1[i] == "Supermercado"]
        assert shown.tolist() == expected
