"""Buy-again's timing grid and its choice: the best pooled score wins, ties and missing numbers
keep the default, and a stored timing round-trips into the source's settings."""

from __future__ import annotations

import math

import pytest

from vitrina.core.recs.buy_again import BuyAgain
from vitrina.core.recs.buy_again_timing import DEFAULT, TIMING_GRID, Timing, choose_timing
from vitrina.core.recs.policy import make_source

pytestmark = pytest.mark.unit


def test_the_grid_holds_the_default_first_a_wide_horizon_and_timing_off() -> None:
    assert TIMING_GRID[0] == DEFAULT
    model = BuyAgain()
    assert DEFAULT.settings() == {"due_floor": model.due_floor, "horizon_days": model.horizon_days}
    assert [timing.name for timing in TIMING_GRID] == [
        "floor 0.2, horizon 7 d",
        "floor 0.2, horizon 28 d",
        "timing off",
    ]


def test_the_best_pooled_score_wins() -> None:
    scores = dict(zip(TIMING_GRID, (0.360, 0.377, 0.371), strict=True))
    assert choose_timing(scores) == Timing(0.2, 28.0)


def test_equal_scores_go_to_the_first_listed_and_nothing_measured_keeps_the_default() -> None:
    assert choose_timing(dict.fromkeys(TIMING_GRID, 0.3)) == DEFAULT
    assert choose_timing({TIMING_GRID[2]: 0.3, TIMING_GRID[1]: 0.3}) == TIMING_GRID[2]
    assert choose_timing(dict.fromkeys(TIMING_GRID, math.nan)) == DEFAULT
    assert choose_timing({}) == DEFAULT
    assert choose_timing({DEFAULT: math.nan, TIMING_GRID[2]: 0.1}) == TIMING_GRID[2]


def test_a_stored_timing_round_trips_into_the_buy_again_source() -> None:
    for timing in TIMING_GRID:
        stored = timing.settings()
        assert Timing.from_settings(stored) == timing
        model = make_source("buy_again", {"buy_again": stored})
        assert isinstance(model, BuyAgain)
        assert (model.due_floor, model.horizon_days) == (timing.due_floor, timing.horizon_days)
    assert Timing.from_settings({}) == DEFAULT  # a bundle from before the choice
