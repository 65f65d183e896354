"""EASE's λ chosen on the shop's validation windows: every grid value is scored, a small shop's
validation window is pooled with the windows of the same width before it (each fitted on the
history before it), and the choice is what the policy is refitted with and what the run records."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from support.recs_handmade import START, Event, handmade

from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease import EASE
from vitrina.core.recs.ease_lambda import DEFAULT_DECAY, DEFAULT_SCALE, LAMBDA_SCALES, RECENCY_DECAYS, pooled
from vitrina.core.recs.policy import Policy
from vitrina.pipelines.recs.ease_lambda import choose_ease_lambda, earlier_window
from vitrina.pipelines.recs.evaluation import history_before
from vitrina.pipelines.recs.selection import Selection

pytestmark = pytest.mark.unit


def shop(first_day: int = 0) -> RecsData:
    """12 users each buying a product a day, in rotations that overlap (train days 0-9,
    validation days 10-11, test 12)."""
    events: list[Event] = [
        (f"u{u}", f"p{(3 * u + d // (1 + u % 3)) % 8}", "purchase", d + u / 100)
        for u in range(12)
        for d in range(first_day, 13)
    ]
    return handmade(events, n_users=12)


def test_a_small_shop_pools_the_windows_before_validation() -> None:
    data = shop()
    choice = choose_ease_lambda(data, min_choice=1)  # a dozen users: far fewer than the pooled minimum
    days = [day for day, _ in choice.windows]
    assert days == [(START + dt.timedelta(days=d)).date().isoformat() for d in (10, 8, 6)]
    assert all(window.users > 0 for _, window in choice.windows)
    assert set(choice.scores) == set(LAMBDA_SCALES)
    assert set(choice.decay_scores) == set(RECENCY_DECAYS)
    grid = pooled([window for _, window in choice.windows])
    assert set(grid) == {(scale, decay) for scale in LAMBDA_SCALES for decay in RECENCY_DECAYS}
    assert choice.scores == {scale: grid[scale, choice.decay] for scale in LAMBDA_SCALES}
    assert choice.decay_scores == {decay: grid[choice.scale, decay] for decay in RECENCY_DECAYS}
    best = max(v for v in grid.values() if math.isfinite(v))
    assert grid[choice.scale, choice.decay] == best


def test_enough_users_in_the_validation_window_is_one_window_and_its_best_fit_is_kept() -> None:
    data = shop()
    choice = choose_ease_lambda(data, min_users=1, min_choice=1)
    assert len(choice.windows) == 1
    assert choice.model is not None  # the selection's EASE source, not fitted a second time
    assert choice.model.lambda_scale == choice.scale
    assert choice.model.recency_decay == choice.decay
    assert choice.model.l2_used == pytest.approx(choice.l2)


def test_a_catalog_larger_than_the_grid_is_chosen_on_its_head_and_refitted_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import vitrina.pipelines.recs.ease_lambda as choosing

    monkeypatch.setattr(choosing, "GRID_MAX_ITEMS", 4)  # the shop's 8 products outnumber it
    choice = choosing.choose_ease_lambda(shop(), min_users=1, min_choice=1)
    assert set(choice.scores) == set(LAMBDA_SCALES)
    _, _, best = choosing.window_scores(shop(), choosing.returning_users(shop()), (choice.scale,))
    assert best is not None
    assert best.modelled is not None
    assert best.modelled.size == 4
    assert choice.model is None  # the served fit models every product: the selection fits it anew


def test_a_shop_of_first_time_buyers_keeps_the_default_and_fits_nothing() -> None:
    events: list[Event] = [(f"u{u}", f"p{u % 8}", "purchase", u + 0.5) for u in range(12)]
    choice = choose_ease_lambda(handmade(events, n_users=12))
    assert choice.scale == DEFAULT_SCALE
    assert choice.decay == DEFAULT_DECAY
    assert choice.scores == {}
    assert choice.model is None
    assert choice.users == 0  # nobody in any window had bought before it
    assert "too few to choose on" in choice.note()


def test_no_window_starts_before_the_history() -> None:
    data = shop(first_day=5)
    assert earlier_window(data, 2) is not None  # days 6-7: history from day 5
    assert earlier_window(data, 3) is None  # days 4-5: nothing before it
    choice = choose_ease_lambda(data, max_windows=5)
    assert len(choice.windows) == 3


def test_an_earlier_window_is_scored_on_its_own_past() -> None:
    data = shop()
    shifted = earlier_window(data, 1)
    assert shifted is not None
    history = history_before(shifted, "valid")
    assert history.ts_us.max() < shifted.train_end_us < data.train_end_us
    assert shifted.valid_end_us == data.train_end_us  # it ends where validation starts


def test_the_choice_is_recorded_and_refitted_with() -> None:
    data = shop()
    choice = choose_ease_lambda(data, min_choice=1)
    fitted = EASE(lambda_scale=choice.scale).fit(data, history_before(data, "valid"))
    assert choice.l2 == pytest.approx(fitted.l2_used)
    expected = {"lambda_scale": choice.scale} | (
        {} if choice.decay == 1.0 else {"recency_decay": choice.decay}
    )
    assert choice.settings() == {"ease": expected}
    selection = Selection(Policy("single", ("ease",)), "all_positives", {}, 12, ease=choice)
    assert selection.settings() == choice.settings()
    tags = selection.record()
    assert float(tags["selection.ease_lambda_scale"]) == choice.scale
    assert selection.params()["selection.ease_lambda_scale"] == tags["selection.ease_lambda_scale"]
    assert float(tags["selection.ease_recency_decay"]) == choice.decay
    rows = selection.metrics()["validation_ease_lambda"]
    assert len(rows) == len(LAMBDA_SCALES)
    assert len(selection.metrics()["validation_ease_recency"]) == len(RECENCY_DECAYS)
    assert f"{choice.scale:g} × the Gram diagonal's mean" in selection.note()
    assert f"recency decay {choice.decay:g}" in selection.note()


def test_a_shop_whose_next_choice_follows_the_latest_one_chooses_a_decay() -> None:
    """Each user walks a chain p0 → p1 → … one step a day from a product of their own: the next
    product is the neighbour of the latest purchase, and the binary profile scores the product
    before the walk's start as high as it."""
    events: list[Event] = [
        (f"u{u}", f"p{(2 * u + d) % 40}", "purchase", d + u / 100) for u in range(20) for d in range(13)
    ]
    choice = choose_ease_lambda(handmade(events, n_items=40, n_users=20), min_users=1, min_choice=1)
    assert choice.decay < 1.0
    assert choice.decay_scores[choice.decay] > choice.decay_scores[1.0]
