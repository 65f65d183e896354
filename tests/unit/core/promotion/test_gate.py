"""The registration gate (docs/spec.md §5.2): each check decides on its boundary, skipped checks are
said to be skipped, and the decision carries every number."""

from __future__ import annotations

import json
import math

import pytest

from vitrina.core.evaluation.behaviour import BehaviourCheck
from vitrina.core.promotion.gate import GateInput, GateThresholds, decide

pytestmark = pytest.mark.unit

OK = BehaviourCheck("no_out_of_stock", True, 10, 0, "fine")
BAD = BehaviourCheck("cold_start_non_empty", False, 10, 3, "3 of 10 cold-start users get fewer than 1 items")
LIMITS = GateThresholds(ndcg_floor=0.03, max_drop=0.02, max_psi=0.25, min_baseline_ratio=1.0)


def statuses(inputs: GateInput) -> dict[str, str]:
    return {c.name: c.status for c in decide(inputs, LIMITS).checks}


def test_a_good_challenger_passes_with_every_number_recorded() -> None:
    decision = decide(
        GateInput(0.06, champion_ndcg=0.065, baseline_ndcg=0.03, max_psi=0.1, behaviour=[OK]), LIMITS
    )
    assert decision.passed
    assert decision.summary() == "pass"
    payload = json.loads(json.dumps(decision.to_dict()))  # JSON-safe, as written to gate.json
    checks = {c["name"]: c for c in payload["checks"]}
    assert checks["vs_champion"]["threshold"] == pytest.approx(0.045)
    assert checks["max_psi"]["value"] == pytest.approx(0.1)
    assert payload["thresholds"]["ndcg_floor"] == 0.03


@pytest.mark.parametrize(
    ("ndcg", "passed"), [(0.03, True), (0.0299, False), (math.nan, False)], ids=["at", "below", "nan"]
)
def test_absolute_floor(ndcg: float, passed: bool) -> None:
    assert statuses(GateInput(ndcg, behaviour=[OK]))["ndcg_floor"] == ("pass" if passed else "fail")


@pytest.mark.parametrize(("champion", "status"), [(0.07, "pass"), (0.0801, "fail"), (None, "skip")])
def test_at_most_max_drop_below_the_champion(champion: float | None, status: str) -> None:
    result = decide(GateInput(0.06, champion_ndcg=champion, behaviour=[OK]), LIMITS)
    assert {c.name: c.status for c in result.checks}["vs_champion"] == status
    assert result.passed == (status != "fail")


@pytest.mark.parametrize(("psi", "status"), [(0.2499, "pass"), (0.25, "fail"), (None, "skip")])
def test_psi_must_stay_strictly_below_the_limit(psi: float | None, status: str) -> None:
    assert statuses(GateInput(0.06, max_psi=psi, behaviour=[OK]))["max_psi"] == status


def test_baseline_check_scales_with_the_ratio_and_can_be_disabled() -> None:
    assert statuses(GateInput(0.05, baseline_ndcg=0.06, behaviour=[OK]))["vs_baseline"] == "fail"
    assert statuses(GateInput(0.07, baseline_ndcg=0.06, behaviour=[OK]))["vs_baseline"] == "pass"
    disabled = GateThresholds(ndcg_floor=0.03, min_baseline_ratio=0.0)
    checks = {
        c.name: c.status for c in decide(GateInput(0.05, baseline_ndcg=0.06, behaviour=[OK]), disabled).checks
    }
    assert checks["vs_baseline"] == "skip"


def test_failed_behaviour_blocks_and_says_why() -> None:
    decision = decide(GateInput(0.2, behaviour=[OK, BAD]), LIMITS)
    assert not decision.passed
    assert [c.name for c in decision.failures] == ["behaviour.cold_start_non_empty"]
    assert "3 of 10 cold-start users" in decision.summary()


def test_no_behaviour_test_at_all_blocks() -> None:
    assert not decide(GateInput(0.2), LIMITS).passed


def test_skipped_checks_are_named_in_the_summary() -> None:
    assert decide(GateInput(0.2, behaviour=[OK]), LIMITS).summary() == (
        "pass (not measured: vs_champion, vs_baseline, max_psi)"
    )


UNMEASURED = "no judgments, no simulator qrels and no held-out search logs"


def test_a_first_version_with_nothing_to_measure_passes_and_says_why() -> None:
    decision = decide(GateInput(math.nan, behaviour=[OK], unmeasured_reason=UNMEASURED), LIMITS)
    floor = {c.name: c for c in decision.checks}["ndcg_floor"]
    assert decision.passed
    assert floor.status == "skip"
    assert UNMEASURED in floor.detail
    assert "no champion yet" in floor.detail
    assert "ndcg_floor" in decision.summary()  # listed among the checks not measured


def test_an_unmeasured_challenger_fails_once_a_champion_serves() -> None:
    for champion in (0.4, math.nan):  # a measured champion, or a first version that was not
        decision = decide(
            GateInput(math.nan, champion_ndcg=champion, behaviour=[OK], unmeasured_reason=UNMEASURED), LIMITS
        )
        assert not decision.passed
        assert "a champion already serves" in {c.name: c for c in decision.checks}["ndcg_floor"].detail


def test_unmeasured_without_a_reason_still_fails_a_first_version() -> None:
    decision = decide(GateInput(math.nan, behaviour=[OK]), LIMITS)
    assert not decision.passed
    assert decision.failures[0].detail == "NDCG@10 was not measured"


def test_a_first_version_without_measure_still_needs_its_behaviour_tests() -> None:
    assert not decide(GateInput(math.nan, behaviour=[BAD], unmeasured_reason=UNMEASURED), LIMITS).passed


def test_champion_measured_elsewhere_or_not_at_all_is_not_compared() -> None:
    reason = "not comparable: the champion was measured on qrels, this run on judgments"
    other = decide(GateInput(0.3, champion_ndcg=0.9, behaviour=[OK], champion_skip_reason=reason), LIMITS)
    check = {c.name: c for c in other.checks}["vs_champion"]
    assert (other.passed, check.status, check.detail) == (True, "skip", reason)
    unmeasured = decide(GateInput(0.3, champion_ndcg=math.nan, behaviour=[OK]), LIMITS)
    check = {c.name: c for c in unmeasured.checks}["vs_champion"]
    assert (check.status, check.detail) == ("skip", "the champion's NDCG@10 was not measured")
    same = decide(GateInput(0.3, champion_ndcg=0.9, behaviour=[OK]), LIMITS)
    assert {c.name: c.status for c in same.checks}["vs_champion"] == "fail"


def test_a_first_version_below_the_floor_serves_when_it_holds_its_baseline() -> None:
    """A shop of one-time buyers: every model scores under the fixed floor; the first version
    that is not worse than popularity on the same data still serves, a worse one does not."""
    holds = decide(GateInput(0.0296, baseline_ndcg=0.0296, behaviour=[OK]), LIMITS)
    assert holds.passed
    assert {c.name: c.status for c in holds.checks}["ndcg_floor"] == "skip"
    below = decide(GateInput(0.0250, baseline_ndcg=0.0296, behaviour=[OK]), LIMITS)
    assert not below.passed
    assert {c.name: c.status for c in below.checks}["ndcg_floor"] == "fail"


def test_below_the_floor_fails_once_a_champion_serves_even_when_it_holds_its_baseline() -> None:
    decision = decide(GateInput(0.0296, champion_ndcg=0.0296, baseline_ndcg=0.0296, behaviour=[OK]), LIMITS)
    assert {c.name: c.status for c in decision.checks}["ndcg_floor"] == "fail"
