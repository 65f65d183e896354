"""The canary state machine: advance, hold, promote, and a rollback on each guardrail; failed
and degraded answers judged apart, so a few fallbacks on a few dozen requests do not roll back."""

from __future__ import annotations

import math

import numpy as np
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
    """Traffic with the given rates, no errors or degraded answers, a 10 ms p95, two requests a user."""
    return ArmTraffic(
        requests=requests,
        errors=0,
        p95_ms=10.0,
        sessions=sessions,
        clicked=round(ctr * sessions),
        converted=round(conversion * sessions),
        users=max(1, requests // 2) if requests else 0,
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


LIVE = CanaryPolicy(stages=(10.0, 25.0, 50.0), min_requests=30, min_sessions=20)


def degraded_arm(
    requests: int, users: int, degraded: int, degraded_users: int, errors: int = 0
) -> ArmTraffic:
    """Healthy rates (CTR 0.6 over one session a user), with the given failed and degraded counts."""
    return ArmTraffic(
        requests=requests,
        errors=errors,
        p95_ms=10.0,
        sessions=users,
        clicked=round(0.6 * users),
        converted=round(0.15 * users),
        degraded=degraded,
        users=users,
        degraded_users=degraded_users,
    )


def test_one_new_customers_degraded_requests_do_not_roll_back() -> None:
    # the live run's case: 3 of 34 challenger requests degraded, all one customer's, against
    # 2 % of the champion's — under the old rule (+1 point of "failed or degraded") a rollback
    champion = degraded_arm(300, 120, 6, 3)
    challenger = degraded_arm(34, 24, 3, 1)
    state = start("recs", "v3", AT, LIVE)
    _, decision = step(state, champion, challenger, AT, LIVE)
    assert decision.action == "advance"
    assert challenger.degraded_rate - champion.degraded_rate > LIVE.max_error_increase
    numbers = decision.numbers
    assert (numbers["errors_challenger"], numbers["degraded_challenger"]) == (0.0, 3.0)
    assert (numbers["degraded_champion"], numbers["users_challenger"]) == (6.0, 24.0)
    assert numbers["degraded_users_lower"] < numbers["degraded_users_diff"] < numbers["degraded_users_upper"]
    assert any(
        r.startswith("degraded answers for 1 of 24 users (3 of 34 requests)") for r in decision.reasons
    )
    assert any(r.startswith("error rate 0.00%") for r in decision.reasons)


def test_a_mostly_degraded_challenger_rolls_back_in_its_first_stage() -> None:
    champion = degraded_arm(300, 120, 6, 3)
    challenger = degraded_arm(40, 20, 32, 16)
    _, decision = step(start("recs", "v3", AT, LIVE), champion, challenger, AT, LIVE)
    assert decision.action == "rollback"
    [reason] = decision.reasons
    assert reason.startswith("degraded answers for 16 of 20 users (32 of 40 requests)")
    assert reason.endswith("lies above +0.01")
    assert decision.numbers["degraded_users_lower"] > LIVE.max_degraded_increase


def test_many_failures_roll_back_on_the_error_rate_whatever_the_degraded_answers() -> None:
    champion = degraded_arm(300, 120, 6, 3)
    challenger = degraded_arm(40, 20, 0, 0, errors=8)
    _, decision = step(start("recs", "v3", AT, LIVE), champion, challenger, AT, LIVE)
    assert decision.action == "rollback"
    [reason] = decision.reasons
    assert reason.startswith("error rate 20.00% vs champion 0.00%")
    assert (decision.numbers["errors_challenger"], decision.numbers["degraded_challenger"]) == (8.0, 0.0)


def test_degraded_answers_are_not_judged_before_the_minimum_traffic() -> None:
    champion = degraded_arm(300, 120, 6, 3)
    challenger = degraded_arm(20, 10, 20, 10)
    _, decision = step(start("recs", "v3", AT, LIVE), champion, challenger, AT, LIVE)
    assert decision.action == "hold"
    assert not [r for r in decision.reasons if r.startswith("degraded")]


def test_equal_degraded_rates_rarely_roll_back_however_often_the_canary_is_looked_at() -> None:
    # Both arms give a fallback to 5 % of their users, three requests a user; a canary looked
    # at after every 10 challenger users up to 300: the always-valid interval keeps false
    # rollbacks under alpha over all the looks together.
    rng = np.random.default_rng(11)
    policy = CanaryPolicy(stages=(10.0, 25.0, 50.0), min_requests=30, min_sessions=10**6)
    rollbacks = 0
    for _ in range(200):
        state = start("recs", "v3", AT, policy)
        champion_bad = challenger_bad = 0
        for look in range(1, 31):
            champion_bad += int(rng.binomial(90, 0.05))
            challenger_bad += int(rng.binomial(10, 0.05))
            users_c, users_t = 90 * look, 10 * look
            state, decision = step(
                state,
                degraded_arm(3 * users_c, users_c, 3 * champion_bad, champion_bad),
                degraded_arm(3 * users_t, users_t, 3 * challenger_bad, challenger_bad),
                AT,
                policy,
            )
            if decision.action == "rollback":
                rollbacks += 1
                break
    assert rollbacks <= 0.05 * 200


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="stages"):
        CanaryPolicy(stages=(25.0, 5.0))
    with pytest.raises(ValueError, match="stages"):
        CanaryPolicy(stages=(5.0, 100.0))
    with pytest.raises(ValueError, match="errors"):
        ArmTraffic(requests=1, errors=2)
    with pytest.raises(ValueError, match="errors"):
        ArmTraffic(requests=2, errors=1, degraded=2)
    with pytest.raises(ValueError, match="degraded users"):
        ArmTraffic(requests=4, degraded=1, users=2, degraded_users=2)
    with pytest.raises(ValueError, match="max_degraded_increase"):
        CanaryPolicy(max_degraded_increase=-0.1)
