"""The canary state machine: advance, hold, promote, and a rollback on each guardrail."""

from __future__ import annotations

import math

import pytest

from vitrina.core.experiments.canary import (
    ArmTraffic,
    CanaryPolicy,
    CanaryState,
    rate_bounds,
    start,
    step,
)
from vitrina.core.experiments.sequential import confidence_sequence, log_mixture_ratio

POLICY = CanaryPolicy(min_requests=100, min_sessions=50)
AT = "2026-06-01T12:00:00+00:00"

pytestmark = pytest.mark.unit


def healthy(requests: int, sessions: int, *, ctr: float = 0.30, conversion: float = 0.05) -> ArmTraffic:
    """Traffic with the given rates, no errors and a 10 ms p95."""
    return ArmTraffic(
        requests=requests,
        errors=0,
        p95_ms=10.0,
        sessions=sessions,
        clicked=round(ctr * sessions),
        converted=round(conversion * sessions),
    )


def fresh() -> CanaryState:
    return start("recs", "v7", AT, POLICY)


def test_start_records_the_first_stage() -> None:
    state = fresh()
    assert (state.status, state.stage, state.share) == ("running", 0, 5.0)
    [first] = state.decisions
    assert (first.action, first.share_before, first.share_after) == ("start", 0.0, 5.0)


def test_it_holds_until_the_stage_has_enough_traffic_then_walks_every_stage_to_promotion() -> None:
    state = fresh()
    state, decision = step(state, healthy(1000, 500), healthy(60, 30), AT, POLICY)
    assert decision.action == "hold"
    assert (state.share, state.stage) == (5.0, 0)
    assert decision.numbers["stage_requests"] == 60
    shares = []
    champion_total, challenger_total = 1000, 60
    for _ in range(3):
        champion_total += 1000
        challenger_total += 150
        state, decision = step(
            state,
            healthy(champion_total, champion_total // 2),
            healthy(challenger_total, challenger_total // 2),
            AT,
            POLICY,
        )
        shares.append((decision.action, decision.share_after))
    assert shares == [("advance", 25.0), ("advance", 50.0), ("promote", 100.0)]
    assert (state.status, state.share) == ("promoted", 100.0)
    assert [d.action for d in state.decisions] == ["start", "hold", "advance", "advance", "promote"]
    with pytest.raises(ValueError, match="promoted"):
        step(state, healthy(9000, 4500), healthy(900, 450), AT, POLICY)


def test_a_stage_counts_only_the_traffic_since_it_began() -> None:
    state, decision = step(fresh(), healthy(2000, 1000), healthy(200, 100), AT, POLICY)
    assert decision.action == "advance"
    state, decision = step(state, healthy(2100, 1050), healthy(260, 130), AT, POLICY)
    assert decision.action == "hold"
    assert decision.numbers["stage_requests"] == 60
    assert decision.numbers["stage_sessions"] == 30


def test_error_rate_above_the_allowed_increase_rolls_back() -> None:
    challenger = ArmTraffic(requests=200, errors=10, p95_ms=10.0, sessions=100, clicked=30, converted=5)
    state, decision = step(fresh(), healthy(2000, 1000), challenger, AT, POLICY)
    assert decision.action == "rollback"
    assert (state.status, state.share, decision.share_after) == ("rolled_back", 0.0, 0.0)
    assert decision.numbers["error_rate_challenger"] == pytest.approx(0.05)
    assert any(reason.startswith("error rate 5.00%") for reason in decision.reasons)


def test_errors_below_the_minimum_traffic_do_not_decide() -> None:
    challenger = ArmTraffic(requests=20, errors=5, p95_ms=10.0, sessions=10, clicked=3, converted=0)
    _, decision = step(fresh(), healthy(2000, 1000), challenger, AT, POLICY)
    assert decision.action == "hold"


def test_p95_latency_over_the_limit_rolls_back() -> None:
    slow = ArmTraffic(requests=200, errors=0, p95_ms=40.0, sessions=100, clicked=30, converted=5)
    _, decision = step(fresh(), healthy(2000, 1000), slow, AT, POLICY)
    assert decision.action == "rollback"
    assert decision.numbers["p95_ms_challenger"] == 40.0
    limit = 10.0 * POLICY.max_p95_ratio + POLICY.p95_slack_ms
    assert any(f"limit {limit:.1f} ms" in reason for reason in decision.reasons)


@pytest.mark.parametrize("metric", ["ctr", "conversion"])
def test_a_rate_significantly_below_the_champion_rolls_back(metric: str) -> None:
    champion = healthy(20_000, 10_000, ctr=0.30, conversion=0.10)
    if metric == "ctr":
        challenger = healthy(2000, 1000, ctr=0.15, conversion=0.10)
    else:
        challenger = healthy(2000, 1000, ctr=0.30, conversion=0.03)
    _, decision = step(fresh(), champion, challenger, AT, POLICY)
    assert decision.action == "rollback"
    assert decision.numbers[f"{metric}_upper"] < 0
    assert [r for r in decision.reasons if r.startswith(metric)]
    other = "conversion" if metric == "ctr" else "ctr"
    assert not [r for r in decision.reasons if r.startswith(other)]


def test_a_small_dip_within_the_interval_does_not_roll_back() -> None:
    champion = healthy(2000, 1000, ctr=0.30)
    challenger = healthy(200, 100, ctr=0.27)
    _, decision = step(fresh(), champion, challenger, AT, POLICY)
    assert decision.action == "advance"
    assert decision.numbers["ctr_lower"] < decision.numbers["ctr_diff"] < 0 < decision.numbers["ctr_upper"]


def test_tolerance_allows_a_bounded_loss() -> None:
    lenient = CanaryPolicy(min_requests=100, min_sessions=50, tolerance=0.2)
    champion = healthy(20_000, 10_000, ctr=0.30)
    challenger = healthy(2000, 1000, ctr=0.25)
    _, strict = step(start("recs", "v7", AT, POLICY), champion, challenger, AT, POLICY)
    _, loose = step(start("recs", "v7", AT, lenient), champion, challenger, AT, lenient)
    assert (strict.action, loose.action) == ("rollback", "advance")


def test_counts_that_go_backwards_are_refused() -> None:
    state, _ = step(fresh(), healthy(2000, 1000), healthy(200, 100), AT, POLICY)
    with pytest.raises(ValueError, match="backwards"):
        step(state, healthy(2000, 1000), healthy(150, 100), AT, POLICY)


def test_state_round_trips_through_json() -> None:
    state, _ = step(fresh(), healthy(2000, 1000), healthy(200, 100), AT, POLICY)
    again = CanaryState.from_dict(state.to_dict())
    assert again == state


def test_the_interval_is_where_the_mixture_test_does_not_reject() -> None:
    diff, se, n_eff = -0.03, 0.01, 500.0
    low, high = confidence_sequence(diff, se, n_eff, alpha=0.05)
    for edge in (low, high):  # at the edge, Λ(θ) = 1 / alpha exactly
        z = (diff - edge) / se
        assert log_mixture_ratio(z, n_eff) == pytest.approx(math.log(1 / 0.05))
    assert confidence_sequence(diff, 0.0, n_eff) == (-math.inf, math.inf)


def test_rate_bounds_need_both_arms() -> None:
    assert rate_bounds("ctr", healthy(10, 0), healthy(10, 5), POLICY) == {}


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="stages"):
        CanaryPolicy(stages=(25.0, 5.0))
    with pytest.raises(ValueError, match="stages"):
        CanaryPolicy(stages=(5.0, 100.0))
    with pytest.raises(ValueError, match="errors"):
        ArmTraffic(requests=1, errors=2)
