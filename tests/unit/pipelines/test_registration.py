"""The register step's inputs: the drift PSI and thresholds it gives the gate, the candidate's metrics."""

from __future__ import annotations

import datetime as dt

import pytest

from vitrina.adapters.registry.mlflow_client import RECS_MODEL, SEARCH_MODEL
from vitrina.adapters.reports import report_folder
from vitrina.config import Settings, get_settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.core.promotion.gate import GateInput, GateThresholds, decide
from vitrina.pipelines.registration import (
    Candidate,
    Registration,
    gate_psi,
    gate_thresholds,
    latest_drift_psi,
)

pytestmark = pytest.mark.unit


def test_latest_drift_psi_is_the_largest_measured_feature_psi(settings: Settings) -> None:
    assert latest_drift_psi(settings) is None  # no drift run yet
    features = {
        "item_price": {"psi": 0.31, "status": "critical"},
        "city": {"psi": 0.02, "status": "ok"},
        "query_length": {"psi": None, "status": "ok"},  # not measurable this window
        "broken": "not a record",
    }
    write_json_atomic(
        {"decision": "retrain", "features": features},
        f"{report_folder(settings, 'drift', 'latest')}/metrics.json",
    )
    assert latest_drift_psi(settings) == pytest.approx(0.31)


def test_gate_psi_is_per_domain_and_not_applied_to_a_drift_triggered_retrain(settings: Settings) -> None:
    features = {
        "transactions.price_vs_catalog": {"psi": 0.52, "status": "critical", "domain": "recs"},
        "searches.query_tokens": {"psi": 0.04, "status": "ok", "domain": "search"},
    }
    write_json_atomic(
        {"decision": "retrain", "features": features},
        f"{report_folder(settings, 'drift', 'latest')}/metrics.json",
    )
    assert latest_drift_psi(settings, "search") == pytest.approx(0.04)
    scheduled = gate_psi(settings, "recs", "schedule")
    assert (scheduled.value, scheduled.skip_reason) == (pytest.approx(0.52), None)
    drifted = gate_psi(settings, "recs", "drift", "20260101T000000")
    assert drifted.value == pytest.approx(0.52)
    assert drifted.skip_reason is not None
    assert "20260101T000000" in drifted.skip_reason
    thresholds = GateThresholds(ndcg_floor=0.0)
    refused = decide(GateInput(ndcg=0.1, max_psi=scheduled.value), thresholds)
    psi_check = {c.name: c for c in refused.checks}["max_psi"]
    assert (refused.passed, psi_check.status) == (False, "fail")
    kept = decide(GateInput(ndcg=0.1, max_psi=drifted.value, psi_skip_reason=drifted.skip_reason), thresholds)
    psi_check = {c.name: c for c in kept.checks}["max_psi"]
    assert (psi_check.status, psi_check.value, psi_check.detail) == ("skip", 0.52, drifted.skip_reason)


def test_candidate_reads_ndcg_of_the_served_model_and_the_baseline() -> None:
    candidate = Candidate(
        model="vitrina-recs",
        pipeline_run_id="r",
        train_date=dt.date(2026, 11, 22),
        bundle_dir="/nowhere",
        metrics={"models": {"full": {"ndcg@10": 0.06}, "popularity": {"ndcg@10": 0.03}}},
        behaviour=[],
    )
    assert candidate.ndcg("full") == 0.06
    assert candidate.ndcg(candidate.baseline_model) == 0.03
    assert candidate.ndcg("absent") is None
    assert candidate.ndcg(None) is None


def test_candidate_reads_the_section_the_gate_was_given() -> None:
    metrics = {
        "judgments": {"hybrid": {"ndcg@10": 0.41}, "bm25": {"ndcg@10": 0.39}},
        "models": {"hybrid": {"ndcg@10": 0.9}},
    }
    common = {
        "model": "vitrina-search",
        "pipeline_run_id": "r",
        "train_date": dt.date(2026, 11, 22),
        "bundle_dir": "/nowhere",
        "metrics": metrics,
        "behaviour": [],
        "served_model": "hybrid",
        "baseline_model": "bm25",
    }
    judged = Candidate(**common, gate_section="judgments", relevance_source="judgments")  # type: ignore[arg-type]
    assert (judged.ndcg("hybrid"), judged.ndcg("bm25")) == (0.41, 0.39)
    assert Candidate(**common).ndcg("hybrid") == 0.9  # type: ignore[arg-type]


def test_floors_come_from_settings_per_model() -> None:
    settings = get_settings(gate_ndcg_floor_recs=0.05, gate_ndcg_floor_search=0.4, gate_max_psi=0.2)
    assert gate_thresholds(settings, RECS_MODEL).ndcg_floor == 0.05
    search = gate_thresholds(settings, SEARCH_MODEL)
    assert (search.ndcg_floor, search.max_psi) == (0.4, 0.2)
    with pytest.raises(ValueError, match="no gate floor"):
        gate_thresholds(settings, "vitrina-other")


def test_a_refusal_says_whether_a_champion_still_serves() -> None:
    refused = decide(GateInput(0.1), GateThresholds(ndcg_floor=0.2))
    assert "not registered, the champion keeps serving" in Registration("m", "r", refused).render()
    first = Registration("m", "r", refused, had_champion=False).render()
    assert "not registered, no champion yet: nothing serves" in first


def test_a_psi_the_drift_check_judged_to_be_noise_does_not_count(settings: Settings) -> None:
    features = {
        # 1,600 cities, a week of 176 buyers: a large PSI that chi² does not confirm
        "users.city": {"psi": 2.69, "status": "ok", "chi2_p": 0.05, "domain": "recs"},
        "transactions.unit_price": {"psi": 0.08, "status": "ok", "domain": "recs"},
        "sessions.category_l1": {"psi": 0.53, "status": "critical", "domain": "recs"},
    }
    report = f"{report_folder(settings, 'drift', 'latest')}/metrics.json"
    write_json_atomic({"thresholds": {"psi_warn": 0.1}, "features": features}, report)
    assert latest_drift_psi(settings, "recs") == pytest.approx(0.53)
    del features["sessions.category_l1"]
    write_json_atomic({"thresholds": {"psi_warn": 0.1}, "features": features}, report)
    assert latest_drift_psi(settings, "recs") == pytest.approx(0.08)  # below warn, it still counts
    write_json_atomic({"features": features}, report)  # a report without thresholds: every PSI
    assert latest_drift_psi(settings, "recs") == pytest.approx(2.69)


def test_a_model_output_psi_does_not_reach_the_gate(settings: Settings) -> None:
    features = {
        # the served engine fills every list the generator's engine left short: not the data
        "searches.results": {"psi": 0.37, "status": "critical", "domain": "search", "role": "model_output"},
        "searches.query_tokens": {"psi": 0.03, "status": "ok", "domain": "search", "role": "data"},
        "searches.clicked": {"psi": 0.05, "status": "ok", "domain": "search"},  # a report before roles
    }
    write_json_atomic({"features": features}, f"{report_folder(settings, 'drift', 'latest')}/metrics.json")
    assert latest_drift_psi(settings, "search") == pytest.approx(0.05)
