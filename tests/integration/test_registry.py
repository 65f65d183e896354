"""MLflow tracking + registry on a real SQLite store: what a run records, the champion /
challenger lifecycle, the gate's record, model cards, and the CLI over them."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from vitrina.adapters.lake.digest import dataset_version, table_digests
from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.registry.importance import shap_importance
from vitrina.adapters.registry.mlflow_client import RECS_MODEL, SEARCH_MODEL, mlflow_client
from vitrina.adapters.registry.models import (
    ModelNotFoundError,
    get_version,
    history,
    list_versions,
    promote,
    resolve,
    rollback,
)
from vitrina.adapters.registry.tracking import RunRecord, track_run
from vitrina.cli.main import app
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.core.evaluation.behaviour import BehaviourCheck
from vitrina.core.promotion.alias_plans import CHALLENGER, CHAMPION, PREVIOUS, LifecycleError
from vitrina.pipelines.registration import Candidate, gate_and_register
from vitrina.serving.reload_signal import Generations

pytestmark = pytest.mark.integration

OK = BehaviourCheck("no_out_of_stock", True, 5, 0, "fine")


def lake_tables(settings: Settings) -> list:  # type: ignore[type-arg]
    lake = LakePaths(settings.lake)
    day = dt.date(2026, 11, 1)
    write_table(lake, "validated", "events", pa.table({"user_id": ["u1", "u2"]}), None, snapshot_day=day)
    write_table(lake, "validated", "catalog", pa.table({"product_id": ["p1"]}), None, snapshot_day=day)
    return table_digests(lake, "validated", ["catalog", "events"])


def bundle(tmp_path: Path, marker: str) -> str:
    folder = tmp_path / f"bundle-{marker}"
    (folder / "ranker").mkdir(parents=True)
    (folder / "ranker" / "model.txt").write_text(marker)
    return str(folder)


def candidate(
    tmp_path: Path, marker: str, ndcg: float, model: str = RECS_MODEL, **extra: object
) -> Candidate:
    metrics = {"models": {"full": {"ndcg@10": ndcg, "mrr": 0.1}, "popularity": {"ndcg@10": 0.02}}}
    return Candidate(
        model=model,
        pipeline_run_id=f"run-{marker}",
        train_date=dt.date(2026, 11, 22),
        bundle_dir=bundle(tmp_path, marker),
        metrics=metrics,
        behaviour=[OK],
        params={"seed": 1},
        **extra,  # type: ignore[arg-type]
    )


def test_track_run_records_params_metrics_datasets_lineage_and_reports(
    mlflow_settings: Settings, tmp_path: Path
) -> None:
    digests = lake_tables(mlflow_settings)
    report = tmp_path / "report"
    write_json_atomic({"models": {"full": {"ndcg@10": 0.061}}}, str(report / "metrics.json"))
    record = RunRecord(
        experiment=RECS_MODEL,
        run_name="20261122T000000",
        train_date=dt.date(2026, 11, 22),
        params={"seed": 42, "n_trials": 4},
        metrics={"models": {"full": {"ndcg@10": 0.061, "mrr": None}}},
        headline={"ndcg@10": 0.061},
        datasets=digests,
        artifacts={"report": str(report)},
        tags={"served_model": "full"},
    )
    tracked = track_run(mlflow_settings, record)
    client = mlflow_client(mlflow_settings)
    run = client.get_run(tracked.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "20261122T000000"
    assert run.data.params == {"seed": "42", "n_trials": "4"}
    assert run.data.metrics == {"models/full/ndcg_at_10": 0.061, "ndcg_at_10": 0.061}
    tags = run.data.tags
    assert tags["dataset_version"] == dataset_version(digests) == tracked.dataset_version
    assert tags["train_date"] == "2026-11-22"
    assert len(tags["git_sha"]) == 40
    assert tags["served_model"] == "full"
    logged = {d.dataset.name: d.dataset for d in run.inputs.dataset_inputs}
    assert set(logged) == {"catalog", "events"}
    events = next(d for d in digests if d.name == "events")
    assert events.digest.startswith(logged["events"].digest)
    assert json.loads(logged["events"].profile)["num_rows"] == 2
    assert {a.path for a in client.list_artifacts(tracked.run_id, "report")} == {"report/metrics.json"}
    # artifacts live under the home by default
    assert Path(tracked.artifact_uri.removeprefix("file://")).is_relative_to(mlflow_settings.home.resolve())


def test_register_resolve_promote_and_rollback(mlflow_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no version with alias 'champion'"):
        resolve(mlflow_settings, RECS_MODEL)
    first = gate_and_register(mlflow_settings, candidate(tmp_path, "one", 0.06))
    second = gate_and_register(mlflow_settings, candidate(tmp_path, "two", 0.05))
    assert (first.version, second.version) == (1, 2)
    assert first.plan is not None
    assert first.plan.set_aliases == {CHAMPION: 1}
    assert second.plan is not None
    assert second.plan.set_aliases == {CHALLENGER: 2}

    def served() -> str:
        return (resolve(mlflow_settings, RECS_MODEL).path / "ranker" / "model.txt").read_text()

    assert served() == "one"
    assert (
        resolve(mlflow_settings, RECS_MODEL, CHALLENGER).path / "ranker" / "model.txt"
    ).read_text() == "two"
    champion = get_version(mlflow_settings, RECS_MODEL, CHAMPION)
    assert champion is not None
    assert champion.tags["pipeline_run_id"] == "run-one"
    assert float(champion.tags["ndcg_at_10"]) == 0.06

    promote(mlflow_settings, RECS_MODEL, "A/B test won")
    assert served() == "two"
    aliases = {v.version: v.aliases for v in list_versions(mlflow_settings, RECS_MODEL)}
    assert aliases == {2: (CHAMPION,), 1: (PREVIOUS,)}
    with pytest.raises(LifecycleError, match="no challenger"):
        promote(mlflow_settings, RECS_MODEL, "again")

    rollback(mlflow_settings, RECS_MODEL, "CTR dropped")
    assert served() == "one"
    demoted = next(v for v in list_versions(mlflow_settings, RECS_MODEL) if v.version == 2)
    assert demoted.tags["rollback_reason"] == "CTR dropped"
    events = history(mlflow_settings, RECS_MODEL)
    assert [(e["action"], e["to"], e["reason"]) for e in events] == [
        ("register", 1, "gate passed; first champion"),
        ("register", 2, "gate passed"),
        ("promote", 2, "A/B test won"),
        ("rollback", 1, "CTR dropped"),
    ]


def test_a_failed_gate_registers_nothing_and_is_recorded(mlflow_settings: Settings, tmp_path: Path) -> None:
    assert gate_and_register(mlflow_settings, candidate(tmp_path, "good", 0.06)).version == 1
    worse = gate_and_register(mlflow_settings, candidate(tmp_path, "worse", 0.035, max_psi=0.3))
    assert worse.version is None
    assert {c.name for c in worse.decision.failures} == {"vs_champion", "max_psi"}
    client = mlflow_client(mlflow_settings)
    run = client.get_run(worse.mlflow_run_id)
    assert run.data.tags["gate.passed"] == "false"
    assert run.data.tags["gate.vs_champion"] == "fail"
    assert run.data.params["gate.max_psi"] == "0.25"
    assert run.data.metrics["gate/max_psi"] == 0.3
    gate = json.loads(
        Path(client.download_artifacts(worse.mlflow_run_id, "gate.json", str(tmp_path))).read_text()
    )
    assert gate["passed"] is False
    assert [a.path for a in client.list_artifacts(worse.mlflow_run_id)] == ["gate.json"]  # no bundle
    assert [v.version for v in list_versions(mlflow_settings, RECS_MODEL)] == [1]
    assert resolve(mlflow_settings, RECS_MODEL).tags["pipeline_run_id"] == "run-good"


def test_a_registered_version_gets_its_model_card_in_the_home_and_in_mlflow(
    mlflow_settings: Settings, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"signal": rng.normal(size=200), "noise": rng.normal(size=200)})
    booster = lgb.train(
        {"objective": "regression", "verbosity": -1, "num_threads": 1},
        lgb.Dataset(frame, frame["signal"] * 2),
        num_boost_round=10,
    )
    registered = gate_and_register(
        mlflow_settings,
        candidate(
            tmp_path,
            "card",
            0.06,
            importance=shap_importance(booster, frame),
            datasets=lake_tables(mlflow_settings),
        ),
    )
    card = mlflow_settings.home / "docs" / "model_cards" / "vitrina-recs-v1.md"
    assert registered.card[0] == card
    text = card.read_text()
    assert "Decision: **passed**" in text
    assert "| events | 2 |" in text
    client = mlflow_client(mlflow_settings)
    logged = {a.path for a in client.list_artifacts(registered.mlflow_run_id, "model_card/vitrina-recs-v1")}
    assert "model_card/vitrina-recs-v1/shap_importance.png" in logged
    assert "model_card/vitrina-recs-v1/data_dictionary.md" in logged
    assert {a.path for a in client.list_artifacts(registered.mlflow_run_id, "model_card")} >= {
        "model_card/vitrina-recs-v1.md"
    }


@pytest.mark.slow
def test_cli_lists_models_and_switches_search_champions(mlflow_settings: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    home = ["--home", str(mlflow_settings.home)]
    generations = Generations(Path(mlflow_settings.home))
    refused = runner.invoke(app, ["models", "rollback", RECS_MODEL, *home])
    assert refused.exit_code == 1
    assert "no champion" in refused.output
    assert generations.pending() == set()  # a refused switch tells running APIs nothing
    gate_and_register(mlflow_settings, candidate(tmp_path, "s1", 0.5, model=SEARCH_MODEL))
    gate_and_register(mlflow_settings, candidate(tmp_path, "s2", 0.49, model=SEARCH_MODEL))
    switched = runner.invoke(app, ["models", "promote", SEARCH_MODEL, "--reason", "interleaving won", *home])
    assert switched.exit_code == 0, switched.output
    assert "promote champion v1 → v2 (interleaving won)" in switched.output
    assert "reload" in switched.output
    assert generations.pending() == {"models"}  # running API workers reload within a second
    listed = runner.invoke(app, ["models", "list", SEARCH_MODEL, *home])
    assert listed.exit_code == 0, listed.output
    assert "champion" in listed.output
    assert "previous" in listed.output
    assert "interleaving won" in listed.output
    unknown = runner.invoke(app, ["models", "promote", "vitrina-other", *home])
    assert unknown.exit_code == 2


def _search_candidate(tmp_path: Path, marker: str, section: str | None, ndcg: float) -> Candidate:
    """A search run whose gate reads ``section`` (None: nothing was measured)."""
    metrics = {} if section is None else {section: {"hybrid": {"ndcg@10": ndcg}, "bm25": {"ndcg@10": 0.3}}}
    labels = {"judgments": "judgments", "models": "qrels"}
    return Candidate(
        model=SEARCH_MODEL,
        pipeline_run_id=f"run-{marker}",
        train_date=dt.date(2026, 11, 22),
        bundle_dir=bundle(tmp_path, marker),
        metrics=metrics,
        behaviour=[OK],
        served_model="hybrid",
        baseline_model="bm25",
        gate_section=section or "models",
        relevance_source=None if section is None else labels[section],
        unmeasured_reason="nothing to measure" if section is None else None,
    )


def test_search_first_version_without_measure_then_the_gate_rules_and_sources_recorded(
    mlflow_settings: Settings, tmp_path: Path
) -> None:
    first = gate_and_register(mlflow_settings, _search_candidate(tmp_path, "a", None, math.nan))
    assert first.version == 1
    assert "as champion" in first.render()
    champion = get_version(mlflow_settings, SEARCH_MODEL, CHAMPION)
    assert champion is not None
    assert champion.tags["ndcg_at_10"] == "nan"
    again = gate_and_register(mlflow_settings, _search_candidate(tmp_path, "b", None, math.nan))
    assert again.version is None  # a champion serves: an unmeasured challenger is refused
    assert "a champion already serves" in again.render()
    measured = gate_and_register(mlflow_settings, _search_candidate(tmp_path, "c", "judgments", 0.4))
    assert measured.version == 2  # the unmeasured champion is no bar
    run = mlflow_client(mlflow_settings).get_run(measured.mlflow_run_id)
    assert run.data.tags["ndcg_at_10.source"] == "judgments"
    assert run.data.metrics["judgments/hybrid/ndcg_at_10"] == pytest.approx(0.4)
    promote(mlflow_settings, SEARCH_MODEL, reason="judged better")
    # a champion measured on judgments is not a bar for a number measured on the simulator's qrels
    other = gate_and_register(mlflow_settings, _search_candidate(tmp_path, "d", "models", 0.35))
    vs_champion = {c.name: c for c in other.decision.checks}["vs_champion"]
    assert (vs_champion.status, other.version) == ("skip", 3)
    assert "measured on judgments, this run on qrels" in vs_champion.detail
    worse = gate_and_register(mlflow_settings, _search_candidate(tmp_path, "e", "judgments", 0.35))
    assert worse.version is None  # same source: 0.35 < 0.4 − 0.02
