"""Buy again: learnt repurchase rates and cycles, and lists of the user's own purchases that put
what is due first and what is never re-bought last."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.buy_again import BuyAgain
from vitrina.core.recs.repurchase import Occasions, RepurchaseStats

pytestmark = pytest.mark.unit


def weekly_and_one_off(n_users: int = 6, last_day: float = 28.0) -> list[Event]:
    """Every user buys p0 every 7 days up to ``last_day`` and p1 once, on day 0."""
    events: list[Event] = []
    for u in range(n_users):
        events += [(f"u{u}", "p0", "purchase", day + 0.01 * u) for day in np.arange(0.0, last_day + 0.5, 7.0)]
        events.append((f"u{u}", "p1", "purchase", 0.02 * u))
    return events


def test_an_item_rebought_weekly_has_a_high_rate_and_a_seven_day_cycle() -> None:
    data = handmade(weekly_and_one_off(), n_users=6)
    stats = RepurchaseStats.learn(data.interactions, data.catalog)
    assert stats.buyers[:2].tolist() == [6, 6]
    assert stats.repeaters[:2].tolist() == [6, 0]
    assert stats.rate[0] > 0.5 > stats.rate[1]
    assert stats.cycle_days[0] == pytest.approx(7.0, rel=0.05)
    # an item nobody bought inherits its category's rate, which is between the two
    assert stats.rate[5] == pytest.approx(stats.category_rate[5])
    assert stats.rate[1] < stats.category_rate[1] < stats.rate[0]


def test_sparse_items_are_shrunk_towards_their_category() -> None:
    # p4 (the category of the one-off p1) bought twice by a single user: its own rate is 1,
    # its smoothed rate much lower
    events = [*weekly_and_one_off(), ("u0", "p4", "purchase", 1.0), ("u0", "p4", "purchase", 3.0)]
    data = handmade(events, n_users=6)
    stats = RepurchaseStats.learn(data.interactions, data.catalog)
    assert stats.category_rate[4] < stats.rate[4] < 0.5
    unshrunk = RepurchaseStats.learn(data.interactions, data.catalog, rate_prior=0.0, cycle_prior=0.0)
    assert unshrunk.rate[4] == 1.0
    assert unshrunk.cycle_days[4] == pytest.approx(2.0)


def test_one_visit_is_one_occasion_and_clicks_do_not_count_when_purchases_are_logged() -> None:
    events: list[Event] = [
        ("u0", "p0", "click", 1.0),
        ("u0", "p0", "purchase", 1.1),
        ("u0", "p0", "purchase", 1.2),
        ("u0", "p2", "click", 2.0),
        ("u0", "p2", "click", 5.0),
    ]
    occ = Occasions.of(handmade(events).interactions)
    assert occ.item.tolist() == [0]
    assert occ.count.tolist() == [1]
    clicks_only = Occasions.of(handmade([e for e in events if e[2] == "click"]).interactions)
    assert clicks_only.item.tolist() == [0, 2]
    assert clicks_only.count.tolist() == [1, 2]


def test_a_weekly_item_is_due_again_after_a_week_and_ranks_above_a_one_off() -> None:
    # u0..u5 build the statistics; u6 bought p0 and p1 on day 21, and the lists are for day 28
    events = [
        *weekly_and_one_off(last_day=28.0),
        ("u6", "p0", "purchase", 21.0),
        ("u6", "p1", "purchase", 21.0),
    ]
    data = handmade(events, n_users=8)
    model = BuyAgain(min_rate=0.0).fit(data, data.interactions)
    items, scores = model.recommend(np.array([6, 7]), k=3)
    assert items[0].tolist() == [0, 1, PAD]
    assert scores[0, 0] > scores[0, 1] > 0
    assert items[1].tolist() == [PAD] * 3
    assert np.isneginf(scores[1]).all()


def test_an_item_bought_yesterday_is_less_due_than_one_bought_a_cycle_ago() -> None:
    events = [
        *weekly_and_one_off(last_day=28.0),
        ("u6", "p0", "purchase", 27.5),
        ("u7", "p0", "purchase", 21.0),
    ]
    data = handmade(events, n_users=8)
    model = BuyAgain(horizon_days=0.0).fit(data, data.interactions)
    _, scores = model.recommend(np.array([6, 7]), k=1)
    assert scores[1, 0] > 2 * scores[0, 0]
    # with no floor and a narrow window, timing decides almost alone
    strict = BuyAgain(due_floor=0.0, due_width=0.25, horizon_days=0.0).fit(data, data.interactions)
    _, strict_scores = strict.recommend(np.array([6, 7]), k=1)
    assert strict_scores[0, 0] < 1e-3 < strict_scores[1, 0]


def test_an_item_due_within_the_horizon_counts_as_due() -> None:
    # bought 4 days before the lists are made: not due now, due 3 days into a week's horizon
    events = [*weekly_and_one_off(last_day=28.0), ("u6", "p0", "purchase", 24.0)]
    data = handmade(events, n_users=8)
    now = BuyAgain(horizon_days=0.0, due_floor=0.0).fit(data, data.interactions)
    week = BuyAgain(horizon_days=7.0, due_floor=0.0).fit(data, data.interactions)
    assert now.recommend(np.array([6]), k=1)[1][0, 0] < 0.9 * week.recommend(np.array([6]), k=1)[1][0, 0]
    # one occasion and fully due: the score is the item's repurchase rate
    assert week.stats is not None
    assert week.user_item_scores(np.array([6]))[2][0] == pytest.approx(week.stats.rate[0])


def test_items_the_shop_does_not_buy_again_are_not_listed() -> None:
    data = handmade(weekly_and_one_off(), n_users=6)
    model = BuyAgain(min_rate=0.5).fit(data, data.interactions)
    assert model.recommend(np.arange(6), k=2)[0][:, 1].tolist() == [PAD] * 6  # p1 (rate < 0.5) is gone


def test_exclusion_and_round_trip(tmp_path: Path) -> None:
    data = handmade(weekly_and_one_off(), n_users=6)
    model = BuyAgain(min_rate=0.0).fit(data, data.interactions)
    users = np.arange(6)
    blocked = np.zeros(len(data.items), dtype=bool)
    blocked[0] = True
    items, _ = model.recommend(users, k=2, exclude=blocked)
    assert (items[:, 0] == 1).all()
    assert (items[:, 1] == PAD).all()
    model.save(tmp_path / "buy_again")
    loaded = BuyAgain.load(tmp_path / "buy_again")
    for got, want in zip(loaded.recommend(users, 2), model.recommend(users, 2), strict=True):
        np.testing.assert_array_equal(got, want)
    assert loaded.stats is not None
    assert loaded.stats.shop_rate == pytest.approx(model.stats.shop_rate)


def test_recommend_before_fit_fails() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        BuyAgain().recommend(np.array([0]), k=1)
