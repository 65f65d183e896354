"""The gate's segment-popularity row ranks at the recency chosen for recent popularity."""

from __future__ import annotations

import pytest

from vitrina.core.recs.policy import FILL, segment_popularity

pytestmark = pytest.mark.unit


def test_segment_popularity_follows_the_chosen_recency_and_else_keeps_the_default() -> None:
    chosen = segment_popularity({FILL: {"half_life_days": None, "window_days": 30.0}, "ease": {"scale": 8.0}})
    assert (chosen.half_life_days, chosen.window_days) == (None, 30.0)
    default = segment_popularity(None)
    assert (default.half_life_days, default.window_days) == (7.0, None)
    assert segment_popularity({"ease": {"scale": 8.0}}).half_life_days == 7.0
