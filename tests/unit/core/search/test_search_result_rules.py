"""Search post-processing: nothing unservable survives, the sponsored boost is bounded, at most
``max_per_seller`` per seller in the top k (overflow kept below), order stable otherwise."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitrina.core.ranking.visible_products import servable_mask
from vitrina.core.recs.business_rules import BusinessRules
from vitrina.core.search.result_rules import (
    DEFAULT_MAX_BOOST,
    SearchRules,
    SearchRulesConfig,
    seller_diversity,
    sponsored_boost,
)
from vitrina.core.search.types import Hits

pytestmark = pytest.mark.unit

NO_BOOST = {"sponsored_max_positions": 0}


def table(
    sellers: list[str | None],
    stock: list[float] | None = None,
    reported: list[bool] | None = None,
    sponsored: list[bool] | None = None,
) -> pd.DataFrame:
    n = len(sellers)
    return pd.DataFrame(
        {
            "product_id": [f"p{i}" for i in range(n)],
            "stock": stock or [5] * n,
            "is_reported": reported or [False] * n,
            "is_sponsored": sponsored or [False] * n,
            "seller_id": sellers,
            "category_l1": ["Electrónica"] * n,
        }
    )


def hits(rows: list[int], scores: list[float] | None = None) -> Hits:
    values = scores if scores is not None else [float(len(rows) - i) for i in range(len(rows))]
    return Hits(np.array(rows, dtype=np.int64), np.array(values, dtype=np.float32))


def test_out_of_stock_and_reported_are_dropped() -> None:
    products = table(
        ["a", "b", "c", "d", "e", "f"],
        stock=[3, 0, np.nan, -1, 2, 9],
        reported=[False, False, False, False, True, False],
    )
    rules = SearchRules.build(products)
    out = rules.apply(hits([5, 4, 3, 2, 1, 0]))
    assert out.hits.rows.tolist() == [5, 0]
    assert out.hits.scores.tolist() == [6.0, 1.0], "scores travel with their rows"
    assert out.dropped == 4
    assert not out.demoted.any()
    assert not out.boost_gain.any()


def test_recs_and_search_share_one_servable_definition() -> None:
    products = table(
        ["a"] * 5,
        stock=[1, 0, None, 2, -3],
        reported=[False, False, False, True, False],  # type: ignore[list-item]
    )
    assert SearchRules.build(products).servable.tolist() == [True, False, False, False, False]
    assert (SearchRules.build(products).servable == BusinessRules.build(products).servable).all()
    with pytest.raises(ValueError, match="decide what is servable"):
        servable_mask(products.drop(columns="stock"))


# Position 4 is sponsored (score 2.6); the organic results above it are better by 0.1 … 0.4.
LADDER = [3.0, 2.9, 2.8, 2.7, 2.6, 1.0]


def boosted(scores: list[float], paid: list[int], **config: float) -> list[int]:
    n = len(scores)
    rules = SearchRules.build(
        table([f"s{i}" for i in range(n)], sponsored=[i in paid for i in range(n)]),
        SearchRulesConfig(**config),  # type: ignore[arg-type]
    )
    out = rules.apply(hits(list(range(n)), scores))
    gains = dict(zip(out.hits.rows.tolist(), out.boost_gain.tolist(), strict=True))
    assert all(gains[i] == 0 for i in range(n) if i not in paid)
    assert all(gains[i] == i - out.hits.rows.tolist().index(i) for i in paid)
    return out.hits.rows.tolist()


def test_sponsored_boost_is_capped_in_places() -> None:
    assert boosted(LADDER, [4]) == [0, 4, 1, 2, 3, 5], "3 places by default"
    assert boosted(LADDER, [4], sponsored_max_positions=1) == [0, 1, 2, 4, 3, 5]


def test_sponsored_boost_never_passes_a_clearly_better_organic_result() -> None:
    assert 1 / (1 + np.exp(-DEFAULT_MAX_BOOST)) == pytest.approx(0.6), "the ranker is 60 % sure"
    assert boosted(LADDER, [4], sponsored_max_positions=10) == [4, 0, 1, 2, 3, 5], "gap 0.4 < 0.405"
    clear_leader = [3.1, *LADDER[1:]]
    assert boosted(clear_leader, [4], sponsored_max_positions=10) == [0, 4, 1, 2, 3, 5]
    assert boosted(LADDER, [4], sponsored_max_boost=0.15) == [0, 1, 2, 4, 3, 5]


def test_sponsored_results_keep_their_order_and_zero_disables() -> None:
    assert boosted(LADDER, [3, 4]) == [3, 4, 0, 1, 2, 5]
    assert boosted(LADDER, [2, 4], sponsored_max_positions=10) == [2, 4, 0, 1, 3, 5]
    assert boosted(LADDER, [4], sponsored_max_boost=0.0) == list(range(6))
    assert boosted(LADDER, [4], sponsored_max_positions=0) == list(range(6))


def test_seller_cap_pushes_overflow_below_k() -> None:
    sellers = ["a", "a", "a", "a", "b", "a", "c", "d"]
    rules = SearchRules.build(table(sellers), SearchRulesConfig(k=5, **NO_BOOST))  # type: ignore[arg-type]
    out = rules.apply(hits(list(range(8))))
    assert out.hits.rows.tolist() == [0, 1, 2, 4, 6, 3, 5, 7]
    assert out.demoted.tolist() == [False] * 5 + [True, True, False]
    assert rules.apply(hits(list(range(8))), k=3).hits.rows.tolist() == list(range(8)), "k per call"


def test_seller_cap_fills_k_when_too_few_sellers_and_unknown_sellers_are_not_grouped() -> None:
    rules = SearchRules.build(table(["a"] * 4 + ["b"] * 2), SearchRulesConfig(k=6, **NO_BOOST))  # type: ignore[arg-type]
    assert rules.apply(hits(list(range(6)))).hits.rows.tolist() == [0, 1, 2, 4, 5, 3]
    anonymous = SearchRules.build(table([None] * 5), SearchRulesConfig(k=5, max_per_seller=1))
    assert anonymous.apply(hits(list(range(5)))).hits.rows.tolist() == list(range(5))


def test_bad_input_is_refused() -> None:
    rules = SearchRules.build(table(["a", "b", "c"]))
    with pytest.raises(ValueError, match="product rows"):
        rules.apply(hits([0, 3]))
    with pytest.raises(ValueError, match="unique"):
        rules.apply(hits([0, 1, 0]))
    with pytest.raises(ValueError, match="finite"):
        rules.apply(hits([0, 1], [1.0, float("nan")]))
    with pytest.raises(ValueError, match="k must be"):
        rules.apply(hits([0]), k=0)
    with pytest.raises(ValueError, match="seller_id"):
        SearchRules.build(table(["a"]).drop(columns="seller_id"))
    with pytest.raises(ValueError, match="max_per_seller"):
        SearchRulesConfig(max_per_seller=0)
    with pytest.raises(ValueError, match="sponsored_max_boost"):
        SearchRulesConfig(sponsored_max_boost=float("inf"))
    assert rules.apply(Hits.empty()).hits.rows.size == 0


# --- properties -----------------------------------------------------------------------------


@st.composite
def ranked_lists(draw: st.DrawFn) -> tuple[pd.DataFrame, Hits, SearchRulesConfig]:
    n = draw(st.integers(1, 40))
    sellers = draw(st.lists(st.sampled_from(["s0", "s1", "s2", "s3", "s4", None]), min_size=n, max_size=n))
    products = table(
        sellers,
        stock=draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n)),
        reported=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        sponsored=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
    )
    rows = draw(st.permutations(list(range(n))))
    rows = rows[: draw(st.integers(0, n))]
    scores = sorted(draw(st.lists(st.floats(-5, 5), min_size=len(rows), max_size=len(rows))), reverse=True)
    config = SearchRulesConfig(
        k=draw(st.integers(1, 12)),
        max_per_seller=draw(st.integers(1, 4)),
        sponsored_max_positions=draw(st.integers(0, 5)),
        sponsored_max_boost=draw(st.sampled_from([0.0, 0.2, DEFAULT_MAX_BOOST, 2.0])),
    )
    return products, hits(rows, scores), config


@settings(max_examples=80, deadline=None)
@given(case=ranked_lists())
def test_only_servable_results_and_the_seller_cap_holds_when_enough_sellers_exist(
    case: tuple[pd.DataFrame, Hits, SearchRulesConfig],
) -> None:
    products, ranked, config = case
    rules = SearchRules.build(products, config)
    out = rules.apply(ranked)
    ok = (products["stock"] > 0) & ~products["is_reported"]
    shown = out.hits.rows.tolist()
    assert all(ok[r] for r in shown)
    assert sorted(shown) == sorted(r for r in ranked.rows.tolist() if ok[r]), "overflow is kept, not dropped"
    assert out.dropped == len(ranked) - len(shown)
    score_of = dict(zip(ranked.rows.tolist(), ranked.scores.tolist(), strict=True))
    assert out.hits.scores.tolist() == [score_of[r] for r in shown]
    per_seller = Counter(rules.seller[out.hits.rows].tolist())
    fillable = min(config.k, sum(min(c, config.max_per_seller) for c in per_seller.values()))
    top = Counter(rules.seller[out.hits.rows[:fillable]].tolist())
    assert all(count <= config.max_per_seller for count in top.values())


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=st.integers(0, 30), positions=st.integers(0, 6), margin=st.floats(0, 3))
def test_boost_is_bounded_and_keeps_every_other_order(
    data: st.DataObject, n: int, positions: int, margin: float
) -> None:
    scores = sorted(data.draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n)), reverse=True)
    paid = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    order = sponsored_boost(scores, paid, max_positions=positions, max_boost=margin).tolist()
    assert sorted(order) == list(range(n))
    new = {entry: position for position, entry in enumerate(order)}
    for entry in range(n):
        if paid[entry]:
            assert entry - positions <= new[entry] <= entry, "up by at most max_positions"
        else:
            assert new[entry] >= entry, "organic results only ever move down"
    organic = [e for e in order if not paid[e]]
    sponsored = [e for e in order if paid[e]]
    assert organic == sorted(organic)
    assert sponsored == sorted(sponsored)
    for o in range(n):
        for p in range(o + 1, n):
            if not paid[o] and paid[p] and scores[o] - scores[p] >= margin:
                assert new[o] < new[p], "a clearly better organic result stays above"
    if positions == 0 or margin == 0:
        assert order == list(range(n))


@settings(max_examples=150, deadline=None)
@given(sellers=st.lists(st.integers(0, 5), max_size=40), k=st.integers(1, 15), cap=st.integers(1, 4))
def test_diversity_matches_the_greedy_reference(sellers: list[int], k: int, cap: int) -> None:
    taken: Counter[int] = Counter()
    top: list[int] = []
    for position, seller in enumerate(sellers):  # walk down; take while the seller has room
        if len(top) < k and taken[seller] < cap:
            top.append(position)
            taken[seller] += 1
    expected = top + [p for p in range(len(sellers)) if p not in top]
    order = seller_diversity(np.array(sellers, dtype=np.int64), k=k, max_per_seller=cap).tolist()
    assert order == expected
    if max(Counter(sellers).values(), default=0) <= cap:
        assert order == list(range(len(sellers))), "nothing to do: original order"
