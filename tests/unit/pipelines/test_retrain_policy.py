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
