"""Popularity over the last days and trending: a recent spike beats steady best-sellers, per city."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.recs.baselines import GlobalPopularity, SegmentPopularity, recency_weights
from vitrina.core.recs.trending import Trending, trend_scores

pytestmark = pytest.mark.unit


def steady_and_spike() -> list[Event]:
    """Day 0-27: p0 chosen 4 times a day by u0..u3 (steady); p1 only in the last week, twice a
    day by u4, u5; p2 chosen daily by u6 before the last week, not since."""
    events: list[Event] = []
    for day in range(28):
        events += [(f"u{u}", "p0", "click", day + 0.1 * u) for u in range(4)]
        if day >= 21:
            events += [(f"u{u}", "p1", "click", day + 0.5) for u in (4, 5)]
        else:
            events.append(("u6", "p2", "click", day + 0.05))
    return events


def test_popularity_of_the_last_days_ignores_older_choices() -> None:
    data = handmade(steady_and_spike(), n_users=8)
    window = recency_weights(data.interactions, None, window_days=7.0)
    assert (window[data.interactions.item == 2] == 0).all()
    assert (window[data.interactions.item == 1] > 0).all()
    model = GlobalPopularity(
        half_life_days=None, window_days=7.0, exclude_purchased=False, min_recent_users=0
    )
    model.fit(data, data.interactions)
    items, _ = model.recommend(np.array([7]), k=3)
    assert items[0, :2].tolist() == [0, 1]
    assert model.scores is not None
    assert model.scores[0, 2] == 0.0
    # a window holding too few users is widened until it holds enough
    widened = recency_weights(data.interactions, None, min_users=7, window_days=7.0)
    assert (widened[data.interactions.item == 2] > 0).any()


def test_a_recent_spike_trends_above_a_steady_best_seller_and_a_faded_item() -> None:
    data = handmade(steady_and_spike(), n_users=8)
    model = Trending(exclude_purchased=False, min_recent_users=0).fit(data, data.interactions)
    items, scores = model.recommend(np.array([7]), k=8)
    assert items[0, :2].tolist() == [1, 0]
    assert scores[0, 1] == pytest.approx(1.0, abs=0.05)  # steady: as chosen as before
    assert items[0, -1] == 2  # faded: below even the items nobody chose
    assert scores[0, -1] < scores[0, -2] == 0.0


def test_trend_is_smoothed_by_the_typical_recent_count() -> None:
    recent = np.array([[1.0, 0.0, 100.0, 10.0]])
    baseline = np.array([[0.0, 0.0, 100.0, 0.0]])
    got = trend_scores(recent, baseline, ratio=1.0, smoothing=1.0)[0]
    c = 10.0  # median of 1, 100, 10
    assert got.tolist() == pytest.approx([(1 + c) / c, 0.0, 1.0, (10 + c) / c])


def test_trending_per_city_falls_back_to_global(tmp_path: Path) -> None:
    # u4, u5 (Cusco) spike on p1; u0..u3, u6 (Lima) did not; u7 has no city
    cities = ["Lima"] * 4 + ["Cusco"] * 2 + ["Lima", None]
    data = handmade(steady_and_spike(), n_users=8, segments=cities)
    model = Trending(column="segment", exclude_purchased=False, min_recent_users=0).fit(
        data, data.interactions
    )
    items, _ = model.recommend(np.array([0, 4, 7]), k=1)
    assert items[:, 0].tolist() == [0, 1, 1]
    model.save(tmp_path / "trending")
    loaded = Trending.load(tmp_path / "trending")
    np.testing.assert_array_equal(
        loaded.recommend(np.array([0, 4, 7]), 2)[0], model.recommend(np.array([0, 4, 7]), 2)[0]
    )
    segment = SegmentPopularity(window_days=7.0, exclude_purchased=False, min_recent_users=0)
    segment.fit(data, data.interactions)
    segment.save(tmp_path / "segment")
    assert SegmentPopularity.load(tmp_path / "segment").window_days == 7.0
