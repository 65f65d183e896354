"""Recent popularity's recency chosen on the shop's validation windows: every recency of the grid
is scored on every user with a held-out choice, a small shop pools the windows before
validation, too few users keep the default, and the choice is what the policy refits with."""

from __future__ import annotations

import datetime as dt

import pytest
from support.recs_handmade import START, Event, handmade

from vitrina.core.recs.baselines import GlobalPopularity
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease_lambda import pooled
from vitrina.core.recs.policy import FILL, SOURCES, Policy, build_policy
from vitrina.core.recs.popularity_recency import DEFAULT, RECENCY_GRID, Recency
from vitrina.pipelines.recs.evaluation import history_before
from vitrina.pipelines.recs.popularity_recency import choose_popularity_recency
from vitrina.pipelines.recs.selection import Selection

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def small_crowd(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hand-made shop has a dozen users: popularity's spans are not widened to a crowd of
    100 (:mod:`vitrina.core.recs.crowd`), so each recency means what it says."""
    monkeypatch.setitem(
        SOURCES,
        FILL,
        lambda **kw: GlobalPopularity(**{"exclude_purchased": False, "min_recent_users": 1, **kw}),
    )


def steady_seller_shop() -> RecsData:
    """p0 sold twice a day on days 0-4 (10 sales), p1 six times in a burst on days 8-9; the
    validation window's (days 10-11) buyers want p0: a recency that forgets the first days
    ranks the burst first and loses."""
    events: list[Event] = [(f"u{i}", "p0", "purchase", i / 2) for i in range(10)]
    events += [(f"u{10 + i}", "p1", "purchase", 8.0 + i / 4) for i in range(6)]
    events += [(f"u{16 + i}", "p0", "purchase", 10.2 + i / 10) for i in range(4)]
    return handmade(events, n_items=6, n_users=20)


def test_the_recency_that_ranks_the_validation_choices_first_wins() -> None:
    choice = choose_popularity_recency(steady_seller_shop(), max_windows=1, min_choice=1)
    assert list(choice.scores) == list(RECENCY_GRID)
    assert choice.scores[Recency(window_days=7.0)] < choice.scores[Recency()]  # the burst's week loses
    assert choice.scores[DEFAULT] < choice.scores[Recency()]
    assert choice.scores[choice.recency] == max(choice.scores.values())
    assert choice.recency == Recency(half_life_days=30.0)  # first of the equals in the grid's order
    assert choice.settings() == {FILL: {"half_life_days": 30.0, "window_days": None}}


def test_a_small_shop_pools_the_windows_before_validation() -> None:
    choice = choose_popularity_recency(steady_seller_shop(), min_choice=1)
    days = [day for day, _ in choice.windows]
    assert days == [(START + dt.timedelta(days=d)).date().isoformat() for d in (10, 8, 6)]
    assert choice.windows[0][1].users == 4
    assert choice.scores == pooled([window for _, window in choice.windows])


def test_too_few_users_keep_the_default_and_score_nothing() -> None:
    choice = choose_popularity_recency(steady_seller_shop())  # 30 users needed, a handful here
    assert choice.recency == DEFAULT
    assert choice.scores == {}
    assert "too few" in choice.note()


def test_the_choice_is_recorded_and_refits_the_policy() -> None:
    data = steady_seller_shop()
    choice = choose_popularity_recency(data, max_windows=1, min_choice=1)
    selection = Selection(Policy("single", (FILL,)), "all_positives", {}, 4, popularity=choice)
    assert selection.settings()[FILL] == choice.recency.settings()
    assert selection.record()["selection.popularity_recency"] == "half-life 30 d"
    assert selection.params()["selection.popularity_recency"] == "half-life 30 d"
    rows = selection.metrics()["validation_popularity_recency"]
    assert set(rows) == {f"popularity {recency.name}" for recency in RECENCY_GRID}
    served = build_policy(
        Policy("single", (FILL,)), data, history_before(data, "valid"), {}, settings=selection.settings()
    )
    assert isinstance(served.popular, GlobalPopularity)
    assert served.popular.half_life_days == 30.0  # the unknown customers' list, at the chosen recency
    items, _ = served.recommend([0], 2)
    assert list(items[0]) == [0, 1]
