"""Recent popularity's recency grid and its choice: the best pooled score wins, ties and
missing numbers keep the default, and a stored recency round-trips into the model's settings."""

from __future__ import annotations

import math

import pytest

from vitrina.core.recs.baselines import GlobalPopularity
from vitrina.core.recs.policy import FILL, make_source
from vitrina.core.recs.popularity_recency import DEFAULT, RECENCY_GRID, Recency, choose_recency

pytestmark = pytest.mark.unit


def test_the_grid_holds_the_default_first_and_all_time_a_week_and_a_month() -> None:
    assert RECENCY_GRID[0] == DEFAULT
    assert DEFAULT.settings()["half_life_days"] == GlobalPopularity().half_life_days  # the model's own
    names = [recency.name for recency in RECENCY_GRID]
    assert names == ["half-life 7 d", "half-life 30 d", "last 7 d", "last 30 d", "all time"]
    assert len(set(RECENCY_GRID)) == len(RECENCY_GRID)


def test_the_best_pooled_score_wins() -> None:
    scores = dict(zip(RECENCY_GRID, (0.020, 0.021, 0.019, 0.023, 0.022), strict=True))
    assert choose_recency(scores) == Recency(window_days=30.0)


def test_equal_scores_go_to_the_first_listed_and_nothing_measured_keeps_the_default() -> None:
    tied = dict.fromkeys(RECENCY_GRID, 0.05)
    assert choose_recency(tied) == DEFAULT
    later = {Recency(): 0.05, Recency(window_days=7.0): 0.05}
    assert choose_recency(later) == Recency()  # the first listed among equals, whatever it is
    assert choose_recency(dict.fromkeys(RECENCY_GRID, math.nan)) == DEFAULT
    assert choose_recency({}) == DEFAULT
    assert choose_recency({Recency(): math.nan, Recency(window_days=7.0): 0.01}) == Recency(window_days=7.0)


def test_a_stored_recency_round_trips_into_the_popularity_source() -> None:
    for recency in RECENCY_GRID:
        stored = recency.settings()
        assert Recency.from_settings(stored) == recency
        model = make_source(FILL, {FILL: stored})
        assert isinstance(model, GlobalPopularity)
        assert (model.half_life_days, model.window_days) == (recency.half_life_days, recency.window_days)
        assert not model.exclude_purchased  # the popularity contender keeps what users bought
    assert Recency.from_settings({}) == DEFAULT  # a bundle from before the choice
