"""A pipeline run as Prometheus samples: drift, steps, experiment, and the push that never fails.

The samples are read back with the registry's own ``get_sample_value``; the real Pushgateway
and Prometheus are in tests/integration/test_alerts_fire.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import math

import pytest

from vitrina.adapters.prometheus.instruments import build_metrics
from vitrina.adapters.prometheus.push import push
from vitrina.adapters.step_ledger import StepEvent
from vitrina.config import Settings
from vitrina.pipelines.drift.run import DriftCheck
from vitrina.pipelines.loop import LoopRun
from vitrina.pipelines.recs.batch import BatchReport
from vitrina.pipelines.recs.run import RecsRun
from vitrina.pipelines.reports import write_report
from vitrina.pipelines.run_metrics import (
    drift_gauges,
    experiment_gauges,
    export_loop_run,
    loop_metrics,
    push_run,
)

pytestmark = pytest.mark.unit

NOW = 1_780_000_000.0
DECISIONS = {"recs": "retrain", "search": "none"}
DRIFT_REPORT = {
    "decision": "retrain",
    "decisions": DECISIONS,
    "features": {
        "transactions.price_vs_catalog": {"domain": "recs", "status": "critical", "psi": 0.52},
        "users.city": {"domain": "recs", "status": "ok", "psi": 2.7},
        "searches.results": {"domain": "search", "status": "critical", "psi": 0.9, "role": "model_output"},
        "sessions.device": {"domain": "recs", "status": "insufficient", "psi": None},
        "searches.query_chars": {"domain": "search", "status": "ok", "psi": math.inf},
    },
}
AB_REPORT = {
    "run_id": "ab-recs-seed7",
    "kind": "ab",
    "ab": {
        "primary": "ctr",
        "comparisons": {
            "ctr": {"lift": 0.12, "p_value": 0.003},
            "revenue": {"lift": -0.02, "p_value": float("nan")},
        },
        "srm": {"p_value": 0.0004},
    },
}


def test_drift_gauges_export_every_finite_psi_and_the_decisions() -> None:
    metrics = build_metrics()
    drift_gauges(metrics, DRIFT_REPORT)
    value = metrics.registry.get_sample_value

    def psi(domain: str, feature: str) -> float | None:
        return value("vitrina_drift_psi", {"domain": domain, "feature": feature, "role": "data"})

    assert psi("recs", "transactions.price_vs_catalog") == 0.52
    assert psi("recs", "users.city") == 2.7  # as measured
    assert psi("recs", "sessions.device") is None
    assert psi("search", "searches.query_chars") is None
    output = {"domain": "search", "feature": "searches.results", "role": "model_output"}
    assert value("vitrina_drift_psi", output) == 0.9  # shown, labelled so the alert leaves it out
    assert value("vitrina_drift_psi", {**output, "role": "data"}) is None
    assert value("vitrina_drift_decision", {"domain": "recs"}) == 2.0
    assert value("vitrina_drift_decision", {"domain": "search"}) == 0.0


def test_drift_gauges_ignore_a_report_that_is_not_one() -> None:
    metrics = build_metrics()
    drift_gauges(metrics, None)
    drift_gauges(metrics, {"features": ["not", "a", "mapping"], "decisions": {"recs": "maybe"}})
    assert not [
        s for f in metrics.registry.collect() if f.name.startswith("vitrina_drift") for s in f.samples
    ]


def test_experiment_gauges_take_lift_p_value_and_srm_of_an_ab_report() -> None:
    metrics = build_metrics()
    experiment_gauges(metrics, AB_REPORT)
    value = metrics.registry.get_sample_value
    labels = {"experiment": "ab-recs-seed7", "metric": "ctr"}
    assert value("vitrina_experiment_lift_ratio", labels) == 0.12
    assert value("vitrina_experiment_p_value", labels) == 0.003
    assert value("vitrina_experiment_lift_ratio", {**labels, "metric": "revenue"}) == -0.02
    assert value("vitrina_experiment_p_value", {**labels, "metric": "revenue"}) is None  # NaN left out
    assert value("vitrina_experiment_srm_p_value", {"experiment": "ab-recs-seed7"}) == 0.0004


def test_an_interleaving_report_exports_nothing() -> None:
    metrics = build_metrics()
    experiment_gauges(metrics, {"run_id": "x", "interleaving": {"wins_a": 3, "wins_b": 5}})
    assert not [
        s for f in metrics.registry.collect() if f.name.startswith("vitrina_experiment") for s in f.samples
    ]


def batch(users: int, written: int, items: int, servable: int) -> BatchReport:
    return BatchReport(
        version="v1",
        model_version="recs-1",
        generated_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        users=users,
        users_written=written,
        recommendations=written * 20,
        popular=20,
        seconds=1.0,
        items_covered=items,
        servable_items=servable,
    )


def test_loop_metrics_per_pipeline(settings: Settings) -> None:
    write_report(settings, "drift", "r1", DRIFT_REPORT, "")
    write_report(settings, "experiments", "ab-recs-seed7", AB_REPORT, "")
    steps = [
        StepEvent("loop", "validate", "reused", 0.5),
        StepEvent("drift", "check", "ran", 3.0),
        StepEvent("recs", "train", "ran", 40.0),
        StepEvent("recs", "publish", "failed", 2.0, "store down"),
    ]
    recs_run = RecsRun(run_id="r1", batch=batch(200, 150, 30, 120))
    check = DriftCheck("r1", "retrain", DECISIONS, [], "", reused=False)
    loop = LoopRun(run_id="r1", steps=steps, drift=check, recs=recs_run)
    run = loop_metrics(settings, loop, error=RuntimeError("recs · publish failed"), now=NOW)

    assert run.failed == {"recs", "loop"}
    recs = run.groups["recs"].registry.get_sample_value
    assert recs("vitrina_batch_job_failed", {"pipeline": "recs"}) == 1.0
    assert recs("vitrina_batch_job_last_duration_seconds", {"pipeline": "recs"}) == 42.0
    assert recs("vitrina_batch_job_last_success_timestamp_seconds", {"pipeline": "recs"}) is None
    outcome = {"pipeline": "recs", "step": "publish", "outcome": "failed"}
    assert recs("vitrina_batch_step_outcome", outcome) == 1.0
    assert recs("vitrina_batch_step_duration_seconds", {"pipeline": "recs", "step": "publish"}) == 2.0
    assert recs("vitrina_batch_user_coverage_ratio", {"model": "recs"}) == 0.75
    assert recs("vitrina_catalog_coverage_ratio", {"model": "recs"}) == 0.25

    drift = run.groups["drift"].registry.get_sample_value
    assert drift("vitrina_batch_job_failed", {"pipeline": "drift"}) == 0.0
    assert drift("vitrina_batch_job_last_success_timestamp_seconds", {"pipeline": "drift"}) == NOW
    assert drift("vitrina_drift_decision", {"domain": "recs"}) == 2.0

    looped = run.groups["loop"].registry.get_sample_value
    assert looped("vitrina_batch_job_failed", {"pipeline": "loop"}) == 1.0  # the loop stopped
    assert looped("vitrina_batch_job_last_success_timestamp_seconds", {"pipeline": "loop"}) is None
    srm = run.groups["experiment"].registry.get_sample_value
    assert srm("vitrina_experiment_srm_p_value", {"experiment": "ab-recs-seed7"}) == 0.0004
    assert "search" not in run.groups  # nothing known about search: its group is not overwritten


def test_nothing_is_pushed_without_a_gateway(settings: Settings) -> None:
    assert settings.pushgateway_url is None
    loop = LoopRun(run_id="r1", steps=[StepEvent("search", "index", "ran", 1.0)])
    assert export_loop_run(settings, loop) == []
    assert push_run(settings, loop_metrics(settings, loop, error=None, now=NOW)) == []


def test_an_unreachable_gateway_is_logged_and_never_raises(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    closed = "http://127.0.0.1:9"  # discard port: nothing listens
    assert push(closed, build_metrics().registry, {"pipeline": "recs"}, timeout=2) is False
    loop = LoopRun(run_id="r1", steps=[StepEvent("search", "index", "ran", 1.0)])
    with caplog.at_level(logging.WARNING):
        assert export_loop_run(settings.model_copy(update={"pushgateway_url": closed}), loop) == []
    assert "metrics not pushed to http://127.0.0.1:9" in caplog.text
