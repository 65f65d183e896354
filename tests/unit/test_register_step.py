"""The register step's inputs: the drift PSI it hands to the gate and the candidate's metrics."""

from __future__ import annotations

import datetime as dt

import pytest

from vitrina.config import Settings
from vitrina.evaluation.reports import report_folder
from vitrina.lake.io import write_json_atomic
from vitrina.pipelines.register import Candidate, latest_drift_psi

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
