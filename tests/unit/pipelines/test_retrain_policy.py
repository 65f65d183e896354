"""The drift branch: retrain on drift, on schedule or without a champion; otherwise keep it."""

from __future__ import annotations

import pytest

from vitrina.pipelines.retrain_policy import decide_training

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("policy", "drift", "age", "retrain", "trigger"),
    [
        ("always", "none", 0.5, True, "manual"),
        ("auto", None, None, True, "no_champion"),
        ("auto", "none", None, True, "no_champion"),
        ("auto", "retrain", 0.5, True, "drift"),
        ("auto", "warn", 0.5, False, "keep"),
        ("auto", "none", 8.0, True, "schedule"),
        ("auto", "warn", 6.9, False, "keep"),
    ],
)
def test_decision(policy: str, drift: str | None, age: float | None, retrain: bool, trigger: str) -> None:
    decision = decide_training(
        policy,  # type: ignore[arg-type]
        drift_decision=drift,
        champion_age_days=age,
        max_age_days=7.0,
        domain="recs",
        drift_run="20260101T000000",
    )
    assert (decision.retrain, decision.trigger) == (retrain, trigger)
    assert decision.drift_decision == drift
    assert decision.reason


@pytest.mark.parametrize(
    ("share", "age", "retrain", "trigger"),
    [
        (0.05, 0.5, False, "keep"),  # a few new products or customers: folded in at publish
        (0.2, 0.5, False, "keep"),  # the threshold itself is still folded in
        (0.21, 0.5, True, "open_world"),
        (None, 0.5, False, "keep"),  # not measured (a bundle that lists no ids)
        (0.05, 8.0, True, "schedule"),
    ],
)
def test_a_shop_mostly_new_to_the_champion_is_retrained(
    share: float | None, age: float, retrain: bool, trigger: str
) -> None:
    decision = decide_training(
        "auto",
        drift_decision="none",
        champion_age_days=age,
        max_age_days=7.0,
        domain="recs",
        new_share=share,
        max_new_share=0.2,
    )
    assert (decision.retrain, decision.trigger) == (retrain, trigger)
    if trigger == "open_world":
        assert "21% of the products or customers are new" in decision.reason
