"""The drift branch: retrain on drift, on schedule or without a champion; otherwise keep it."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pyarrow as pa
import pytest

from vitrina.adapters.reports import DRIFT_HISTORY_SCHEMA, report_folder
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.pipelines import retrain_policy
from vitrina.pipelines.drift.report import append_history
from vitrina.pipelines.retrain_policy import decide_training, warn_streak

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


@pytest.mark.parametrize(
    ("drift", "streak", "checks", "retrain"),
    [
        ("warn", 3, 3, True),  # a warn that held three checks in a row
        ("warn", 2, 3, False),
        ("warn", 9, 0, False),  # turned off: a warn never retrains
        ("none", 5, 3, False),  # the streak ended with this check
    ],
)
def test_a_warn_that_holds_check_after_check_retrains(
    drift: str, streak: int, checks: int, retrain: bool
) -> None:
    decision = decide_training(
        "auto",
        drift_decision=drift,
        champion_age_days=0.5,
        max_age_days=7.0,
        domain="recs",
        drift_run="20260101T000000",
        warn_streak=streak,
        warn_checks=checks,
    )
    assert (decision.retrain, decision.trigger) == (retrain, "drift" if retrain else "keep")
    if retrain:
        assert "drift warned for recs in the last 3 checks" in decision.reason


def _check(settings: Settings, run_id: str, at: dt.datetime, decisions: dict[str, str]) -> None:
    write_json_atomic(
        {"run_id": run_id, "decisions": decisions}, f"{report_folder(settings, 'drift', run_id)}/metrics.json"
    )
    row = dict.fromkeys(DRIFT_HISTORY_SCHEMA.names) | {
        "run_id": run_id, "generated_at": at, "name": "sessions.interaction_l2", "kind": "categorical",
        "domain": "recs", "status": decisions["recs"],
    }  # fmt: skip
    append_history(settings, pa.Table.from_pylist([row], schema=DRIFT_HISTORY_SCHEMA))


def test_the_warn_streak_counts_consecutive_checks_since_the_serving_versions(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    registered: dict[str, dt.datetime] = {"champion": start}

    def version(_settings: Settings, _model: str, alias: str) -> SimpleNamespace | None:
        return SimpleNamespace(created=registered[alias]) if alias in registered else None

    monkeypatch.setattr(retrain_policy, "get_version", version)
    assert warn_streak(settings, "vitrina-recs", "recs") == 0  # no drift check yet
    decisions = ["warn", "none", "warn", "retrain", "warn"]  # oldest first
    for hour, decision in enumerate(decisions, start=1):
        _check(settings, f"r{hour}", start + dt.timedelta(hours=hour), {"recs": decision, "search": "none"})
    assert warn_streak(settings, "vitrina-recs", "recs") == 3  # r3, r4, r5: r2 broke the run
    assert warn_streak(settings, "vitrina-recs", "search") == 0
    registered["challenger"] = start + dt.timedelta(hours=3, minutes=30)  # trained on r3's data
    assert warn_streak(settings, "vitrina-recs", "recs") == 2
    registered["champion"] = start + dt.timedelta(hours=6)  # promoted after every check
    assert warn_streak(settings, "vitrina-recs", "recs") == 0
