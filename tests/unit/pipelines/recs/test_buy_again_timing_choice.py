"""Buy-again's timing chosen on the shop's validation windows: a shop whose customers come back
when an item is due keeps the timing, one whose customers re-buy their habits whenever keeps it
off; a small shop pools the windows before validation, too few users keep the default, and the
choice is recorded and is what the policy and the batch's buy-again list refit with."""

from __future__ import annotations

import datetime as dt

import pytest
from support.recs_handmade import START, Event, handmade

from vitrina.core.recs.buy_again import BuyAgain
from vitrina.core.recs.buy_again_timing import DEFAULT, TIMING_GRID, Timing
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease_lambda import pooled
from vitrina.core.recs.policy import Policy, build_policy
from vitrina.pipelines.recs.buy_again_timing import choose_buy_again_timing
from vitrina.pipelines.recs.evaluation import history_before
from vitrina.pipelines.recs.keyed_lists import keyed_lists
from vitrina.pipelines.recs.selection import Selection

pytestmark = pytest.mark.unit

OFF = Timing(due_floor=1.0, horizon_days=7.0)
USERS = 6


def habit_shop(valid_buys: str) -> RecsData:
    """Each customer bought p1 daily on days 0-5 (a strong habit, last bought days ago, on a
    one-day cycle: overdue) and p0 every three days up to day 9.5 (bought just now, due again
    within the week). In the validation window (days 10-12) each buys ``valid_buys``: p0
    rewards the timing (p0 is the one due), p1 rewards ranking by habit alone."""
    events: list[Event] = []
    for u in range(USERS):
        user = f"u{u}"
        events += [(user, "p1", "purchase", day + u / 100) for day in range(6)]
        events += [(user, "p0", "purchase", day + u / 100) for day in (0.5, 3.5, 6.5, 9.5)]
        events.append((user, valid_buys, "purchase", 10.5 + u / 100))
    return handmade(events, n_items=4, n_users=USERS)


def test_the_timing_is_kept_where_customers_buy_what_is_due() -> None:
    choice = choose_buy_again_timing(habit_shop("p0"), max_windows=1, min_choice=1)
    assert list(choice.scores) == list(TIMING_GRID)
    assert choice.scores[DEFAULT] > choice.scores[OFF]
    assert choice.timing == DEFAULT  # the default and the wide horizon tie: the default, first listed
    assert choice.windows[0][1].users == USERS


def test_the_timing_is_switched_off_where_customers_rebuy_their_habits() -> None:
    choice = choose_buy_again_timing(habit_shop("p1"), max_windows=1, min_choice=1)
    assert choice.scores[OFF] > choice.scores[DEFAULT]
    assert choice.timing == OFF
    assert choice.settings() == {"buy_again": {"due_floor": 1.0, "horizon_days": 7.0}}


def test_a_small_shop_pools_the_windows_before_validation() -> None:
    choice = choose_buy_again_timing(habit_shop("p0"), min_choice=1)
    days = [day for day, _ in choice.windows]
    assert days == [(START + dt.timedelta(days=d)).date().isoformat() for d in (10, 8, 6)]
    assert choice.scores == pooled([window for _, window in choice.windows])


def test_too_few_users_keep_the_default_and_score_nothing() -> None:
    choice = choose_buy_again_timing(habit_shop("p1"))  # 30 users needed, six here
    assert choice.timing == DEFAULT
    assert choice.scores == {}
    assert "too few" in choice.note()


def test_the_choice_is_recorded_and_refits_the_served_source_and_the_batch_list() -> None:
    data = habit_shop("p1")
    choice = choose_buy_again_timing(data, max_windows=1, min_choice=1)
    policy = Policy("single", ("buy_again",))
    selection = Selection(policy, "all_positives", {}, USERS, buy_again=choice)
    assert selection.settings()["buy_again"] == OFF.settings()
    assert selection.record()["selection.buy_again_timing"] == "timing off"
    assert selection.params()["selection.buy_again_timing"] == "timing off"
    rows = selection.metrics()["validation_buy_again_timing"]
    assert set(rows) == {f"buy_again {timing.name}" for timing in TIMING_GRID}
    assert "Buy-again's timing: **timing off**" in selection.note()
    history = history_before(data, "valid")
    served = build_policy(policy, data, history, {}, settings=selection.settings())
    assert isinstance(served.model, BuyAgain)
    assert served.model.due_floor == 1.0
    assert served.settings["buy_again"] == OFF.settings()
    items, _ = served.recommend([0], 2)
    assert list(items[0]) == [1, 0]  # the habit first, as validation said
    timed = {lists.kind: lists for lists in keyed_lists(data, history, 2)}["buy_again"]
    chosen = keyed_lists(data, history, 2, buy_again=served.settings["buy_again"])
    assert list(timed.items[0]) == [0, 1]  # the default's timing puts the due item first
    assert list({lists.kind: lists for lists in chosen}["buy_again"].items[0]) == [1, 0]
