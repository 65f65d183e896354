"""The default split of a recommendations dataset: a week each for validation and test, wider
when a week holds too few users to measure anything."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vitrina.core.evaluation.split import SplitError, TemporalSplit
from vitrina.core.recs.heldout_windows import heldout_split

pytestmark = pytest.mark.unit

END = dt.datetime(2018, 9, 24, 14, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=7)


def _events(users_per_day: int, days: int, seed: int = 0, kind: str = "purchase") -> pd.DataFrame:
    """``users_per_day`` distinct users choosing something on each of the last ``days`` days."""
    rng = np.random.default_rng(seed)
    rows = []
    for day in range(days):
        for user in rng.choice(10_000, users_per_day, replace=False):
            rows.append((f"u{user}", kind, END - dt.timedelta(days=day, hours=float(rng.uniform(0, 20)))))
    return pd.DataFrame(rows, columns=["user_id", "event_type", "ts"])


def test_a_busy_shop_keeps_the_trailing_weeks() -> None:
    events = _events(users_per_day=40, days=60)
    assert heldout_split(events) == TemporalSplit.trailing(events)


def test_a_slow_shop_widens_both_windows_until_each_holds_enough_users() -> None:
    events = _events(users_per_day=3, days=400, seed=1)  # ~21 users a week
    split = heldout_split(events, min_users=50)
    window = split.valid_end - split.train_end
    assert window == split.end - split.valid_end  # validation and test stay the same length
    assert window == dt.timedelta(days=28)  # 7 → 14 → 28 days: the first that holds 50 users each
    labels = split.labels(events)
    for part in (1, 2):
        assert events.loc[labels == part, "user_id"].nunique() >= 50
    narrower = TemporalSplit.trailing(events, test=window / 2, valid=window / 2)
    assert events.loc[narrower.labels(events) == 2, "user_id"].nunique() < 50


def test_views_are_not_choices() -> None:
    choices = _events(users_per_day=3, days=400, seed=2)
    views = _events(users_per_day=100, days=400, seed=3, kind="view")
    both = pd.concat([choices, views], ignore_index=True)
    assert heldout_split(both, min_users=50) == heldout_split(choices, min_users=50)


def test_training_keeps_at_least_half_of_the_choices() -> None:
    events = _events(users_per_day=2, days=100, seed=4)  # 100 users need more than the data holds
    split = heldout_split(events, min_users=100)
    in_train = (split.labels(events) == 0).sum()
    assert 2 * in_train >= len(events)
    wider = 2 * (split.valid_end - split.train_end)
    twice = TemporalSplit.trailing(events, test=wider, valid=wider)
    assert 2 * (twice.labels(events) == 0).sum() < len(events)  # the next doubling would not


def test_data_too_short_for_two_weeks_is_refused() -> None:
    with pytest.raises(SplitError, match="empty"):
        heldout_split(_events(users_per_day=50, days=10))
