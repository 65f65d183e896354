"""Drift monitoring on the simulator: each scenario is flagged on the features it changes, and
a lake without drift flags nothing (ci scale, seed 7, the last 7 of 21 days drift).

The ci week is small (≈ 2 300 sessions, ≈ 500 order lines), so what is flagged depends on
how much of the traffic a scenario touches: price inflation decides ``retrain`` here because
the three repriced categories carry ~10 % of the purchases; with a seed whose repriced
categories carry 2 % it is a ``warn`` (see the report of the branch that added this).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from rich.console import Console
from typer.testing import CliRunner

from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.lake.truth import load_truth
from vitrina.cli.main import app
from vitrina.config import Settings, get_settings
from vitrina.core.drift.decision import SEVERITY, FeatureDrift
from vitrina.pipelines.drift.run import DriftConfig, DriftRun, run_drift
from vitrina.pipelines.recs.batch import AUDIT_SCHEMA, AUDIT_TABLE
from vitrina.pipelines.validate import validate_lake
from vitrina.simulator.generate import generate_marketplace

pytestmark = [pytest.mark.integration, pytest.mark.slow]

END = dt.date(2025, 3, 31)
SEED = 7
QUIET = Console(quiet=True)
CATEGORY_MIX = {
    "sessions.category_l1", "sessions.category_l2", "sessions.interaction_l1", "sessions.interaction_l2",
    "searches.top_result_l1", "searches.clicked_l1", "user_category_features.category_l1",
}  # fmt: skip


def _lake(home: Path, scenario: str | None) -> Settings:
    settings = get_settings(home=home)
    generate_marketplace(settings, scale="ci", seed=SEED, drift=scenario, end_date=END, catalog_to=None)
    validate_lake(settings, max_invalid_share=0.0)
    return settings


def _run(settings: Settings, **options: object) -> DriftRun:
    config = DriftConfig(**{"query_sample": 0, "html": False, **options})  # type: ignore[arg-type]
    return run_drift(settings, config, QUIET, run_id="test")


def _flagged(run: DriftRun) -> dict[str, FeatureDrift]:
    return {f.name: f for f in run.result.features if SEVERITY[f.status] > 0}


@pytest.fixture(scope="module")
def calm(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _lake(tmp_path_factory.mktemp("none") / "home", None)


def test_no_drift_flags_nothing(calm: Settings) -> None:
    run = _run(calm)
    assert run.result.decision == "none", run.result.reasons
    assert run.result.reasons == ()
    assert run.windows.blocks == 2
    measured = [f for f in run.result.features if f.status != "insufficient"]
    assert len(measured) >= 30  # raw tables and feature frames were all measured
    latest = json.loads(Path(run.report.rsplit("/", 1)[0], "latest", "metrics.json").read_text())
    assert latest["decision"] == "none"


def test_price_inflation_retrains_on_price_features(tmp_path: Path) -> None:
    settings = _lake(tmp_path / "home", "price_inflation")
    affected = set(load_truth(settings).drift["affected_l2"])
    run = _run(settings)
    flagged = _flagged(run)
    assert run.result.decision == "retrain"
    assert flagged["transactions.price_vs_catalog"].status == "critical"
    assert all(name.startswith("transactions.") for name in flagged)
    groups = flagged["transactions.price_vs_catalog"].groups
    assert groups
    assert groups[0].group in affected
    assert groups[0].shift == pytest.approx(np.log(1.3), abs=0.05)  # prices +25–35 %
    assert "price_vs_catalog" in run.result.reasons[0]


def test_new_city_is_flagged_on_city(tmp_path: Path) -> None:
    settings = _lake(tmp_path / "home", "new_city")
    city = load_truth(settings).drift["city"]
    run = _run(settings)
    flagged = _flagged(run)
    assert run.result.decision in ("warn", "retrain")
    assert set(flagged) == {"users.city"}
    mover = flagged["users.city"].movers[0]
    assert mover.category == city
    assert mover.reference_share == 0.0


def test_seasonal_shift_is_flagged_on_the_category_mix(tmp_path: Path) -> None:
    settings = _lake(tmp_path / "home", "seasonal")
    affected = set(load_truth(settings).drift["affected_l1"])
    run = _run(settings)
    flagged = _flagged(run)
    assert run.result.decision in ("warn", "retrain")
    assert set(flagged) <= CATEGORY_MIX
    session_l1 = flagged["sessions.category_l1"]
    rising = [m.category for m in session_l1.movers if m.ratio > 1]
    assert rising
    assert set(rising) <= affected


def test_new_trend_is_flagged_on_the_category_mix_of_interactions(tmp_path: Path) -> None:
    settings = _lake(tmp_path / "home", "new_trend")
    (trending,) = load_truth(settings).drift["affected_l2"]
    run = _run(settings)
    flagged = _flagged(run)
    assert set(flagged) <= CATEGORY_MIX
    assert flagged["sessions.interaction_l2"].movers[0].category == trending
    assert any(trending in reason for reason in run.result.reasons)


def test_cli_prints_the_decision_and_exits_zero(tmp_path: Path) -> None:
    settings = _lake(tmp_path / "home", "price_inflation")
    result = CliRunner().invoke(
        app, ["drift", "--home", str(settings.home), "--query-sample", "0", "--no-html"]
    )
    assert result.exit_code == 0, result.output
    assert "retrain" in result.output
    assert "price_vs_catalog" in result.output
    assert Path(settings.lake, "reports", "drift", "latest", "metrics.json").exists()


def _publish_fake_batch(settings: Settings, run_id: str, when: dt.datetime, offset: int) -> None:
    rng = np.random.default_rng(offset)
    rows = [
        {
            "user_id": f"u{u}",
            "rank": r,
            "product_id": f"p{(u + r + offset) % 300}",
            "score": float(rng.normal()),
            "reason": "r",
            "model_version": run_id,
            "generated_at": when,
        }
        for u in range(100)
        for r in range(1, 11)
    ]
    table = pa.Table.from_pylist(rows, schema=AUDIT_SCHEMA)
    write_table(
        LakePaths(settings.lake),
        "predictions",
        AUDIT_TABLE,
        table,
        None,
        snapshot_day=when.date(),
        part=run_id,
    )


def test_prediction_and_query_embedding_checks_run_end_to_end(calm: Settings, tmp_path: Path) -> None:
    import shutil

    import torch

    torch.set_num_threads(1)
    home = tmp_path / "copy"
    shutil.copytree(calm.home, home)
    settings = get_settings(home=home)
    when = dt.datetime(2025, 4, 1, tzinfo=dt.UTC)
    _publish_fake_batch(settings, "old", when, 0)
    _publish_fake_batch(settings, "new", when + dt.timedelta(hours=6), 0)
    run = _run(settings, query_sample=40, features=False, html=True)
    signals = {s.name: s for s in run.result.signals}
    assert signals["predictions.new_items_top10"].value == 0.0
    assert {f.name for f in run.result.features} >= {"predictions.score"}
    embedding = signals["search.embedding_centroid_shift"]
    assert embedding.status == "ok"
    assert embedding.value is not None
    assert embedding.value < 0.1
    assert Path(settings.lake, "reports", "drift", "test", "evidently.html").exists()
    assert run.result.decision == "none", run.result.reasons
