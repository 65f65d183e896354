"""The ship / rollback / keep-running / invalid-SRM rule and the end-to-end A/B analysis."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support.experiments_synthetic import bernoulli_arms, sessions

from vitrina.core.experiments import (
    SessionOutcomes,
    analyze_ab,
    decide,
    srm_check,
    two_proportion_test,
    welch_test,
)

pytestmark = pytest.mark.unit

BETTER = two_proportion_test(500, 10_000, 600, 10_000)  # +20 %, p ≈ 0.002
WORSE = two_proportion_test(600, 10_000, 500, 10_000)
FLAT = two_proportion_test(500, 10_000, 505, 10_000)
OK_SPLIT = srm_check({"c": 8_000, "t": 2_000}, {"c": 0.8, "t": 0.2})
BAD_SPLIT = srm_check({"c": 8_300, "t": 1_700}, {"c": 0.8, "t": 0.2})


def test_srm_invalidates_even_a_winning_experiment() -> None:
    decision = decide(BETTER, srm=BAD_SPLIT)
    assert decision.verdict == "invalid_srm"
    assert "sample-ratio mismatch" in decision.reasons[0]
    assert "8300" in decision.reasons[0]


def test_significant_improvement_ships_with_its_numbers() -> None:
    decision = decide(BETTER, srm=OK_SPLIT, guardrails=[FLAT])
    assert decision.verdict == "ship"
    assert decision.reasons[0].startswith("significantly better — ctr")
    assert "+20.0%" in decision.reasons[0]
    assert decision.reasons[1].startswith("guardrail ok")


def test_significant_loss_or_hurt_guardrail_rolls_back() -> None:
    assert decide(WORSE, srm=OK_SPLIT).verdict == "rollback"
    revenue_down = welch_test(np.full(50, 10.0) + np.arange(50) % 3, np.full(50, 8.0) + np.arange(50) % 3)
    decision = decide(BETTER, guardrails=[revenue_down])
    assert decision.verdict == "rollback"
    assert "revenue" in decision.reasons[0]


def test_lift_below_the_practical_threshold_is_not_shipped() -> None:
    assert decide(BETTER, min_lift=0.10).verdict == "ship"
    decision = decide(BETTER, min_lift=0.30)
    assert decision.verdict == "rollback"
    assert "< required" in decision.reasons[0]


def test_flat_result_keeps_running_until_the_planned_size_then_rolls_back() -> None:
    running = decide(FLAT, required_per_arm=20_000)
    assert running.verdict == "keep_running"
    assert "10000 of 20000" in running.reasons[0]
    assert decide(FLAT).verdict == "keep_running"
    assert decide(FLAT, required_per_arm=10_000).verdict == "rollback"


def test_analyze_ab_detects_a_real_loss_for_the_challenger() -> None:
    # the challenger (20 % of traffic) is a worse recommender: CTR 6 % → 4.5 %
    rng = np.random.default_rng(5)
    control, treatment = bernoulli_arms(rng, 40_000, 0.06, 0.045, share_treatment=0.2)
    report = analyze_ab(control, treatment, expected_shares=(0.8, 0.2))
    assert report.decision.verdict == "rollback"
    assert report.comparisons["ctr"].direction == "worse"
    assert not report.srm.mismatch
    assert set(report.comparisons) == {"ctr", "conversion", "revenue"}
    assert report.comparisons["revenue"].test == "welch"
    json.dumps(report.to_dict())  # JSON-ready


def test_analyze_ab_flags_a_split_that_does_not_match_the_configuration() -> None:
    rng = np.random.default_rng(6)
    control, treatment = bernoulli_arms(rng, 20_000, 0.05, 0.05, share_treatment=0.5)
    assert analyze_ab(control, treatment, expected_shares=(0.8, 0.2)).decision.verdict == "invalid_srm"
    assert analyze_ab(control, treatment, expected_shares=(0.5, 0.5)).decision.verdict != "invalid_srm"


def test_session_outcomes_validate_and_concatenate() -> None:
    rng = np.random.default_rng(0)
    parts = [sessions(rng, 10, 0.5), sessions(rng, 5, 0.5)]
    joined = SessionOutcomes.concat(parts)
    assert len(joined) == 15
    assert joined.clicked.dtype == bool
    assert len(SessionOutcomes.concat([])) == 0
    with pytest.raises(ValueError, match="lengths differ"):
        SessionOutcomes.of([True], [True, False], [0.0])
    with pytest.raises(ValueError, match="revenue"):
        SessionOutcomes.of([True], [True], [-1.0])
    with pytest.raises(ValueError, match="primary"):
        analyze_ab(joined, joined, primary="aov")  # type: ignore[arg-type]


def test_session_outcomes_from_event_rows() -> None:
    def event(kind: str, product: str) -> dict[str, str]:
        return {"event_type": kind, "product_id": product, "user_id": "u1"}

    sessions_events = [
        [event("view", "p1"), event("view", "p2")],
        [event("view", "p1"), event("click", "p1"), event("add_to_cart", "p1"), event("purchase", "p1")],
        [event("view", "p2"), event("click", "p2"), event("purchase", "p2"), event("purchase", "p1")],
        [],
    ]
    outcomes = SessionOutcomes.from_events(sessions_events, {"p1": 10.0, "p2": 2.5})
    assert outcomes.clicked.tolist() == [False, True, True, False]
    assert outcomes.converted.tolist() == [False, True, True, False]
    assert outcomes.revenue.tolist() == [0.0, 10.0, 12.5, 0.0]
    with pytest.raises(KeyError, match="p2"):
        SessionOutcomes.from_events([[event("purchase", "p2")]], {"p1": 1.0})
