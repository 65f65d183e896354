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
