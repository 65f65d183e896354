"""EASE's λ choice: the best pooled score wins, the stronger ridge among equals, windows are
pooled by their users, and earlier windows are added only while the pooled users are few."""

from __future__ import annotations

import math

import pytest

from vitrina.core.recs.ease_lambda import (
    DEFAULT_DECAY,
    DEFAULT_SCALE,
    LAMBDA_SCALES,
    RECENCY_DECAYS,
    WindowScores,
    choose_scale,
    choose_setting,
    enough_to_choose,
    more_windows,
    pooled,
)

pytestmark = pytest.mark.unit


def test_the_grid_holds_the_default_so_validation_can_keep_it() -> None:
    assert DEFAULT_SCALE in LAMBDA_SCALES
    assert list(LAMBDA_SCALES) == sorted(LAMBDA_SCALES)
    assert LAMBDA_SCALES[-1] / LAMBDA_SCALES[0] >= 100  # from light to strong shrinkage


def test_the_decay_grid_holds_no_decay_so_a_shop_it_does_not_help_keeps_the_binary_profile() -> None:
    assert DEFAULT_DECAY == 1.0
    assert RECENCY_DECAYS[0] == DEFAULT_DECAY
    assert all(0 < decay <= 1 for decay in RECENCY_DECAYS)


def test_the_best_pair_wins_and_ties_keep_the_stronger_ridge_then_no_decay() -> None:
    assert choose_setting({(0.5, 1.0): 0.08, (0.5, 0.9): 0.10, (8.0, 0.9): 0.09}) == (0.5, 0.9)
    assert choose_setting({(0.5, 1.0): 0.1, (0.5, 0.9): 0.1, (2.0, 0.8): 0.1, (2.0, 1.0): 0.1}) == (2.0, 1.0)
    assert choose_setting({(0.5, 0.9): math.nan}) == (DEFAULT_SCALE, DEFAULT_DECAY)


def test_the_best_score_wins() -> None:
    assert choose_scale({0.5: 0.08, 2.0: 0.10, 8.0: 0.11, 32.0: 0.09}) == 8.0


def test_among_equal_scores_the_stronger_ridge_wins() -> None:
    assert choose_scale({0.5: 0.1, 2.0: 0.1, 8.0: 0.05}) == 2.0


def test_unmeasured_values_are_ignored_and_nothing_measured_keeps_the_default() -> None:
    assert choose_scale({0.5: math.nan, 2.0: 0.01}) == 2.0
    assert choose_scale({0.5: math.nan, 2.0: math.nan}) == DEFAULT_SCALE
    assert choose_scale({}, default=8.0) == 8.0


def test_windows_are_pooled_by_their_users() -> None:
    windows = [WindowScores(100, {1.0: 0.2, 4.0: 0.1}), WindowScores(300, {1.0: 0.0, 4.0: 0.1})]
    scores = pooled(windows)
    assert scores[1.0] == pytest.approx((100 * 0.2 + 300 * 0.0) / 400)
    assert scores[4.0] == pytest.approx(0.1)
    # pooling reverses what the small window alone would choose
    assert choose_scale(windows[0].scores) == 1.0
    assert choose_scale(scores) == 4.0


def test_empty_windows_and_unmeasured_scores_do_not_count() -> None:
    windows = [WindowScores(0, {}), WindowScores(50, {1.0: 0.3, 4.0: math.nan}), WindowScores(50, {1.0: 0.1})]
    scores = pooled(windows)
    assert scores[1.0] == pytest.approx(0.2)
    assert math.isnan(scores[4.0])
    assert pooled([]) == {}


def test_earlier_windows_are_added_only_while_the_users_are_few() -> None:
    assert more_windows([])  # the validation window itself
    assert more_windows([265], min_users=1000, max_windows=3)
    assert not more_windows([1200], min_users=1000, max_windows=3)  # a busy shop: one window
    assert not more_windows([300, 300, 300], min_users=1000, max_windows=3)  # at most three
    assert not more_windows([600, 500], min_users=1000, max_windows=3)


def test_the_grid_is_fitted_only_on_enough_users() -> None:
    assert not enough_to_choose([], min_users=30)
    assert not enough_to_choose([1, 0, 2], min_users=30)  # a shop of first-time buyers
    assert enough_to_choose([10, 12, 9], min_users=30)
