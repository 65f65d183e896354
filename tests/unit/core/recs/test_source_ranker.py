"""The source ranker: its history features, its candidates (the union of the simple sources'
lists) and its training over forward cutoffs of the history, on hand-made shops."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.ranking.interactions import EVENT_CODE, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.policy import SOURCES, make_source
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.source_candidates import source_candidates, source_columns
from vitrina.core.recs.source_features import (
    DAY_US,
    EXPOSED_HISTORY_FEATURES,
    HISTORY_FEATURES,
    HistoryIndex,
)
from vitrina.core.recs.source_ranker import (
    RANKED_SOURCES,
    SOURCE_LTR,
    SOURCE_LTR_NEW,
    SourceRanker,
    WindowCache,
    fit_rankers,
)
from vitrina.core.recs.user_items import UserItems

pytestmark = pytest.mark.unit


def _day_us(data: RecsData, day: float) -> int:
    return (
        int(data.interactions.ts_us.min()) + int(day * DAY_US) - int(data.interactions.ts_us.min() % DAY_US)
    )


def test_history_features_count_the_pair_the_user_and_the_item_before_the_cutoff() -> None:
    events: list[Event] = [
        ("u0", "p0", "purchase", 0.0),
        ("u0", "p0", "purchase", 4.0),
        ("u0", "p1", "click", 6.0),
        ("u1", "p0", "purchase", 7.0),
        ("u1", "p2", "view", 7.5),  # an impression is not a choice
        ("u1", "p1", "purchase", 9.0),  # at the cutoff: not before it
    ]
    data = handmade(events)
    cutoff = _day_us(data, 9.0)
    index = HistoryIndex(data.interactions, cutoff, len(data.users), len(data.items))
    frame = index.features(np.array([0, 0, 1, 2]), np.array([0, 3, 0, 0]))
    assert list(frame.columns) == list(HISTORY_FEATURES)
    assert frame["user_item_count"].tolist() == [2.0, 0.0, 1.0, 0.0]
    assert frame["user_item_days"].iloc[0] == pytest.approx(5.0)  # u0 last bought p0 on day 4
    assert np.isnan(frame["user_item_days"].iloc[1])
    assert frame["user_days"].tolist()[:3] == pytest.approx([3.0, 3.0, 2.0])
    assert np.isnan(frame["user_days"].iloc[3])  # u2 has no history
    assert frame["user_count"].tolist() == [3.0, 3.0, 1.0, 0.0]
    assert frame["user_distinct"].tolist() == [2.0, 2.0, 1.0, 0.0]
    assert frame["item_popularity"].iloc[0] == 3.0
    assert frame["item_popularity_7d"].iloc[0] == 2.0  # days 4 and 7, not day 0
    assert frame["item_buyers"].iloc[0] == 2.0
    assert frame["item_repeat_share"].iloc[0] == pytest.approx(0.5)  # u0 of u0, u1
    assert index.positive_users().tolist() == [0, 1]


def test_where_impressions_are_logged_the_items_counts_are_left_out() -> None:
    events: list[Event] = [
        ("u0", "p0", "purchase", 0.0),
        ("u1", "p0", "view", 1.0),
        ("u1", "p0", "click", 1.1),
        ("u2", "p1", "purchase", 5.0),
    ]
    data = handmade(events)
    args = (data.interactions, _day_us(data, 9.0), len(data.users), len(data.items))
    counted = HistoryIndex(*args).features(np.array([0, 1]), np.array([0, 1]))
    exposed = HistoryIndex(*args, exposure_logged=True).features(np.array([0, 1]), np.array([0, 1]))
    assert list(exposed.columns) == list(EXPOSED_HISTORY_FEATURES)
    assert {"item_popularity", "item_popularity_7d", "item_buyers"} <= set(counted.columns) - set(
        exposed.columns
    )
    shared = list(exposed.columns)
    assert "item_repeat_share" in shared
    assert exposed.equals(counted[shared])  # the user's and the pair's history stay as they were


class _Listed:
    """A fitted source that lists fixed items with fixed scores."""

    def __init__(self, name: str, items: list[list[int]]) -> None:
        self.name = name
        self.items = np.array(items, dtype=np.int64)

    def fit(self, data: RecsData, history: object) -> _Listed:
        return self

    def recommend(
        self, users: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        items = self.items[: len(users), :k]
        scores = np.where(items == PAD, -np.inf, 10.0 - np.arange(items.shape[1]))
        return items, scores


def test_candidates_are_the_union_of_the_sources_with_each_ones_score_and_rank() -> None:
    sources = {"a": _Listed("a", [[3, 1, PAD], [2, 0, 5]]), "b": _Listed("b", [[1, 4, 6], [5, PAD, PAD]])}
    rows, frame = source_candidates(sources, {"a": 3, "b": 3}, np.array([7, 8]))
    assert list(frame.columns) == source_columns(("a", "b")) == ["a_score", "a_rank", "b_score", "b_rank"]
    listed = {(int(u), int(i)): k for k, (u, i) in enumerate(zip(rows.users, rows.items, strict=True))}
    assert sorted(listed) == [(7, 1), (7, 3), (7, 4), (7, 6), (8, 0), (8, 2), (8, 5)]  # each item once
    one = listed[(7, 1)]  # second in a, first in b
    assert frame.loc[one, ["a_rank", "b_rank", "a_score", "b_score"]].tolist() == [1.0, 0.0, 9.0, 10.0]
    four = listed[(7, 4)]  # only b listed it
    assert frame.loc[[four], ["a_rank", "a_score"]].isna().all(axis=None)
    # the discovery candidates: user 8's own item 5 is left out of every source
    owned = UserItems.of(np.array([8]), np.array([5]), 10)
    rows, _ = source_candidates(sources, {"a": 3, "b": 3}, np.array([7, 8]), owned=owned)
    assert (8, 5) not in set(zip(rows.users.tolist(), rows.items.tolist(), strict=True))


def _staples_shop(n_users: int = 60, days: int = 24, seed: int = 0) -> RecsData:
    """Each user re-buys a staple (p0..p3) every two days and now and then one of two pairs bought
    together ({p4, p5}, {p6, p7}) or a one-off (p8..p11)."""
    rng = np.random.default_rng(seed)
    events: list[Event] = []
    for u in range(n_users):
        staple = f"p{u % 4}"
        events += [(f"u{u}", staple, "purchase", day + 0.3 + 0.001 * u) for day in range(0, days, 2)]
        for day in rng.choice(days, size=3, replace=False):
            pair = rng.integers(2)
            first, second = (4, 5) if pair == 0 else (6, 7)
            order = (first, second) if rng.random() < 0.5 else (second, first)
            events.append((f"u{u}", f"p{order[0]}", "purchase", day + 0.5))
            events.append((f"u{u}", f"p{order[1]}", "purchase", day + 1.5))
        events.append((f"u{u}", f"p{8 + int(rng.integers(4))}", "purchase", float(rng.integers(days)) + 0.7))
    data: RecsData = handmade(events, n_items=12, n_users=n_users)
    return data


def _ranker(name: str) -> SourceRanker:
    ranker = make_source(name)
    assert isinstance(ranker, SourceRanker)
    return ranker


def test_the_ranker_trains_on_forward_windows_of_the_history_and_lists_the_due_staple_first() -> None:
    data = _staples_shop()
    ranker = _ranker(SOURCE_LTR)
    assert set(ranker.parts) == set(RANKED_SOURCES)
    ranker.fit(data, data.interactions)
    assert ranker.fitted
    # windows of the validation width (two days), most recent first, until enough queries
    starts = [window["start_us"] for window in ranker.windows]
    assert len(starts) >= 2
    assert all(b - a == -2 * DAY_US for a, b in itertools.pairwise(starts))
    users = np.arange(len(data.users))
    items, scores = ranker.recommend(users, 5)
    assert items.shape == (users.size, 5)
    staple = [f"p{int(user[1:]) % 4}" for user in data.users.ids]
    assert np.mean(data.items.ids[items[:, 0]] == staple) > 0.9  # bought every second day
    assert np.all(np.diff(scores, axis=1) <= 0)
    again = _ranker(SOURCE_LTR).fit(data, data.interactions).recommend(users, 5)[0]
    assert np.array_equal(items, again)  # deterministic


def _shown_before_chosen(data: RecsData, extra_views: int) -> Interactions:
    """``data``'s history with each choice shown a moment before it, and the staples (p0..p3)
    shown ``extra_views`` more times: the shop's lists push them."""
    inter = data.interactions
    pushed = np.repeat(np.arange(len(inter)), np.where(inter.item < 4, 1 + extra_views, 1))
    shown = dataclasses.replace(
        inter.take(pushed), event=np.full(pushed.size, EVENT_CODE["view"]), ts_us=inter.ts_us[pushed] - 1
    )
    both = {
        f.name: np.concatenate([getattr(shown, f.name), getattr(inter, f.name)])
        for f in dataclasses.fields(inter)
    }
    order = np.argsort(both["ts_us"], kind="stable")
    return Interactions(**{name: values[order] for name, values in both.items()})


def test_on_a_shop_that_logs_impressions_the_ranker_learns_without_item_counts_and_weighs_out_exposure() -> (
    None
):
    data = _staples_shop()
    orders = WindowCache()
    fit_rankers([_ranker(SOURCE_LTR)], data, data.interactions, cache=orders)
    assert all(frame.weights is None for frame in orders.frames.values())  # an order file: as before
    assert all("item_popularity" in frame.features for frame in orders.frames.values())
    cache = WindowCache()
    ranker = _ranker(SOURCE_LTR)
    fit_rankers([ranker], data, _shown_before_chosen(data, extra_views=3), cache=cache)
    assert ranker.exposure_logged
    assert ranker.fitted
    columns = list(EXPOSED_HISTORY_FEATURES)
    compared = 0
    for frame in cache.frames.values():
        assert list(frame.features.columns[-len(columns) :]) == columns
        assert frame.weights is not None
        assert np.all(frame.weights[frame.labels == 0] == 1.0)
        positive, staple = frame.labels > 0, frame.items < 4
        if (positive & staple).any() and (positive & ~staple).any():
            # a staple, shown four times as often in the label window, counts for less
            assert frame.weights[positive & staple].mean() < frame.weights[positive & ~staple].mean()
            compared += 1
    assert compared >= 2
    users = np.arange(len(data.users))
    staple_of = [f"p{int(user[1:]) % 4}" for user in data.users.ids]
    # the due staple still comes first for most users, though its pushed views weigh it down
    assert np.mean(data.items.ids[ranker.recommend(users, 5)[0][:, 0]] == staple_of) > 0.75


def test_the_discovery_ranker_never_lists_what_the_user_chose() -> None:
    data = _staples_shop()
    ranker = _ranker(SOURCE_LTR_NEW).fit(data, data.interactions)
    assert ranker.discovery
    assert ranker.fitted
    users = np.arange(len(data.users))
    items, _ = ranker.recommend(users, 6)
    positives = data.interactions.take(data.interactions.event > EVENT_CODE["view"])
    owned = UserItems.of(positives.user, positives.item, len(data.items))
    assert not owned.contains(users, items).any()
    assert (items != PAD).any()


def test_without_two_windows_of_returning_buyers_it_fuses_the_sources_ranks() -> None:
    events: list[Event] = [
        ("u0", "p0", "purchase", 9.0),
        ("u1", "p0", "purchase", 9.5),
        ("u0", "p1", "purchase", 10.5),
    ]
    data = handmade(events)
    ranker = _ranker(SOURCE_LTR).fit(data, data.interactions)
    assert not ranker.fitted
    items, _ = ranker.recommend(np.array([0, 1, 2]), 3)
    assert items[2, 0] != PAD  # a user without history still gets recent popularity's items
    assert SOURCE_LTR in SOURCES
    assert SOURCE_LTR_NEW in SOURCES


class _Counted:
    """Each source's factory, counting the fits it makes (one per call of the factory)."""

    def __init__(self) -> None:
        self.fits = 0
        self.parts = {name: self._counting(name) for name in RANKED_SOURCES}

    def _counting(self, name: str) -> Callable[[], Recommender]:
        def make() -> Recommender:
            self.fits += 1
            return make_source(name)

        return make


def _lists(ranker: SourceRanker, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return ranker.recommend(users, 8)


def test_rankers_fitted_together_fit_each_windows_sources_once_and_learn_what_each_alone_would() -> None:
    data = _staples_shop()
    history = data.interactions.before(int(data.interactions.ts_us.max()) - DAY_US)
    users = np.arange(len(data.users))
    alone = _Counted()
    apart = [SourceRanker(alone.parts), SourceRanker(alone.parts, discovery=True)]
    for ranker in apart:
        ranker.fit(data, history)
    shared = _Counted()
    together = [SourceRanker(shared.parts), SourceRanker(shared.parts, discovery=True)]
    fit_rankers(together, data, history)
    starts = {window["start_us"] for ranker in together for window in ranker.windows}
    assert all(ranker.fitted for ranker in together)
    # every window held returning buyers: each window's five sources once, plus the served fits
    assert shared.fits == len(RANKED_SOURCES) * (len(starts) + 1)
    assert alone.fits == len(RANKED_SOURCES) * (sum(len(r.windows) for r in apart) + 2)
    for one, other in zip(apart, together, strict=True):
        assert one.windows == other.windows
        items, scores = _lists(one, users)
        shared_items, shared_scores = _lists(other, users)
        assert np.array_equal(items, shared_items)
        assert np.array_equal(scores, shared_scores)
    # sources already fitted on the history itself serve as they are: no refit
    given = {name: make_source(name).fit(data, history) for name in RANKED_SOURCES}
    reused = _Counted()
    served = [SourceRanker(reused.parts), SourceRanker(reused.parts, discovery=True)]
    fit_rankers(served, data, history, given)
    assert reused.fits == len(RANKED_SOURCES) * len(starts)
    for one, other in zip(apart, served, strict=True):
        assert np.array_equal(_lists(one, users)[0], _lists(other, users)[0])


def test_rankers_of_different_sources_are_not_fitted_together() -> None:
    data = _staples_shop(n_users=8, days=6)
    fewer = {name: make for name, make in _Counted().parts.items() if name != "als"}
    with pytest.raises(ValueError, match="same sources"):
        fit_rankers([SourceRanker(_Counted().parts), SourceRanker(fewer)], data, data.interactions)
