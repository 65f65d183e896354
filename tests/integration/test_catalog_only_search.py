"""A shop that brings a catalog and its own relevance judgments, and nothing else (no search
logs, no events, no transactions, no users, no simulator truth): `vitrina train all` skips
what cannot apply and says why, the search pipeline evaluates on the judgments, the gate reads
them and the first version becomes champion, and the API answers ``/search`` (and ``/recs``
with an empty fallback). Without judgments either, the first version still serves."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from support.fixed_calendar import WORLD_END_MIDNIGHT
from support.judged_shop import KINDS, MAKERS
from support.judged_shop import catalog as hardware_catalog

from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.models.index_versions import current_version, read_version_meta
from vitrina.adapters.registry.mlflow_client import mlflow_client
from vitrina.config import Settings, get_settings
from vitrina.core.search.product_text import catalog_texts
from vitrina.core.tables import JUDGMENTS
from vitrina.pipelines.drift.run import DriftConfig
from vitrina.pipelines.loop import NO_INTERACTIONS, LoopConfig, LoopRun, run_all
from vitrina.pipelines.search.run import SearchConfig, run_search
from vitrina.pipelines.validate import validate_lake
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module


def _catalog() -> pa.Table:
    """An English hardware catalog (:mod:`support.judged_shop`): each title names a kind, a
    maker, a colour and a size."""
    return hardware_catalog(WORLD_END_MIDNIGHT - dt.timedelta(days=30))


INTENTS = {
    "drill": "make holes in a wall",
    "hammer": "drive nails into wood",
    "screwdriver": "turn screws",
    "saw": "cut lumber to length",
    "wrench": "tighten a bolt",
    "sander": "smooth rough wood",
    "ladder": "reach a high shelf",
    "toolbox": "carry and store my tools",
}
"""Queries that name what the shopper wants to do, in words no title carries."""


def _judged_queries() -> list[tuple[str, str, str | None]]:
    """(query, kind, maker or None): a maker and a kind, or an intent (any maker)."""
    named = [(f"{maker.lower()} {kind}", kind, maker) for kind in KINDS for maker in MAKERS[:3]]
    return named + [(intent, kind, None) for kind, intent in INTENTS.items()]


def _judgments(catalog: pa.Table) -> pa.Table:
    """Graded like a shop's raters would: 2 = the kind and the maker asked for, 1 = the kind
    (any maker for an intent), 0 = the next kind (judged irrelevant; other kinds unjudged)."""
    titles = catalog.column("title").to_pylist()
    ids = catalog.column("product_id").to_pylist()
    rows: dict[str, list[object]] = {"query": [], "product_id": [], "grade": [], "source": []}
    for query, kind, maker in _judged_queries():
        other = KINDS[(KINDS.index(kind) + 1) % len(KINDS)]
        for product, title in zip(ids, titles, strict=True):
            if title.endswith(f" {kind}"):
                grade = 2.0 if maker is not None and title.startswith(maker) else 1.0
            elif title.endswith(f" {other}"):
                grade = 0.0
            else:
                continue
            rows["query"].append(query)
            rows["product_id"].append(product)
            rows["grade"].append(grade)
            rows["source"].append("raters")
    return pa.table(rows, schema=JUDGMENTS.schema)


def _home(root: Path, mlflow_template: Path, *, judged: bool) -> Settings:
    root.mkdir(parents=True)
    shutil.copy(mlflow_template, root / mlflow_template.name)
    settings = get_settings(home=root)
    lake = LakePaths(settings.lake)
    catalog = _catalog()
    day = WORLD_END_MIDNIGHT.date()
    write_table(lake, "raw", "catalog", catalog, None, snapshot_day=day, part="shop")
    if judged:
        write_table(lake, "raw", "judgments", _judgments(catalog), None, snapshot_day=day, part="shop")
    return settings


SMALL = LoopConfig(search=replace(SearchConfig(), n_trials=1), drift=DriftConfig(query_sample=0))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> tuple[Settings, LoopRun]:
    settings = _home(tmp_path_factory.mktemp("catalog-only") / "home", mlflow_template, judged=True)
    return settings, run_all(settings, SMALL, QUIET)


def test_train_all_skips_what_cannot_apply_and_says_why(shop: tuple[Settings, LoopRun]) -> None:
    _, loop = shop
    outcomes = {(e.pipeline, e.step): (e.outcome, e.detail) for e in loop.steps}
    assert outcomes[("loop", "validate")][0] == "ran"
    assert outcomes[("loop", "features")] == ("skipped", "no validated events: no feature frames to build")
    assert outcomes[("drift", "check")][0] == "skipped"
    assert outcomes[("recs", "train")] == ("skipped", NO_INTERACTIONS)
    assert outcomes[("search", "train")][0] == "ran"
    assert loop.recs is None
    assert loop.search is not None
    assert any("no search logs: ranker not trained" in note for note in loop.search.notes)
    # a few dozen judged queries teach the fusion, not the encoder
    assert any("encoder not fine-tuned on judgments" in note for note in loop.search.notes)


def test_the_gate_reads_the_judgments_and_the_first_version_is_champion(
    shop: tuple[Settings, LoopRun],
) -> None:
    settings, loop = shop
    run = loop.search
    assert run is not None
    judged = run.metrics["judgments"]
    assert run.metrics["models"] == {}
    assert run.metrics["logs"] == {}
    assert "hybrid_ltr" not in judged  # no ranker without logs
    relevance = run.metrics["relevance"]
    assert relevance["gate"] == "judgments"
    # No ranker: the served mode is chosen on one half of the judged queries, gated on the other.
    served = run.metrics["served_mode"]
    assert served["n_selection"] + served["n_gate"] == len(_judged_queries())
    assert abs(served["n_selection"] - served["n_gate"]) <= 1
    assert relevance["sources"]["judgments"]["n_queries"] == served["n_gate"]
    assert relevance["tuned_on_judgments"] is True
    selection = run.metrics["judgments_selection"]
    assert served["selection"] == {
        "hybrid": selection["hybrid"]["ndcg@10"],
        "bm25": selection["bm25_qu"]["ndcg@10"],
    }
    # Intents only the encoder understands: the hybrid wins the selection half.
    assert served["mode"] == "hybrid"
    assert served["model"] == "hybrid"
    # BM25 finds what a query names and nothing for an intent; the hybrid finds both.
    assert judged["bm25"]["zero_result_rate"] > 0
    assert judged["hybrid"]["zero_result_rate"] == 0
    assert judged["hybrid"]["ndcg@10"] > judged["bm25"]["ndcg@10"] >= settings.gate_ndcg_floor_search
    assert run.registration is not None
    assert "as champion" in run.registration
    assert current_version(settings) == run.version
    mlflow_run = mlflow_client(settings).search_runs(
        [mlflow_client(settings).get_experiment_by_name("vitrina-search").experiment_id]
    )[0]
    assert mlflow_run.data.params["relevance_source"] == "judgments"
    assert mlflow_run.data.params["judged_queries"] == str(served["n_gate"])
    assert mlflow_run.data.params["served_mode"] == "hybrid"
    assert mlflow_run.data.params["served_mode_selection_queries"] == str(served["n_selection"])
    assert mlflow_run.data.params["served_mode_reason"] == served["reason"]
    assert mlflow_run.data.tags["served_model"] == "hybrid"
    assert mlflow_run.data.tags["ndcg_at_10.source"] == "judgments"
    logged = mlflow_run.data.metrics["judgments/hybrid/ndcg_at_10"]
    assert logged == pytest.approx(judged["hybrid"]["ndcg@10"])
    report = Path(LakePaths(settings.lake).layer("reports")) / "search" / "latest" / "metrics.md"
    text = report.read_text()
    assert "Gate: NDCG@10 on the shop's judgments" in text
    assert "no search logs: ranker not trained" in text
    assert f"chosen on {served['n_selection']} judged queries" in text
    assert "selection half" in text
    assert read_version_meta(settings, run.version)["served_mode"] == "hybrid"
    # The same selection half taught the hybrid its fusion weights, recorded with the version.
    fusion = run.metrics["fusion"]
    assert fusion["source"] == "judgments"
    assert 0 < fusion["n_queries"] <= served["n_selection"]
    assert fusion["curve"][f"{fusion['weight']:.2f}/{fusion['coverage']:.2f}"] == max(
        fusion["curve"].values()
    )
    recorded = read_version_meta(settings, run.version)["fusion"]
    assert (recorded["weight"], recorded["coverage"]) == (fusion["weight"], fusion["coverage"])
    assert mlflow_run.data.params["fusion_weight"] == str(fusion["weight"])
    assert "fusion weight" in text


@pytest.fixture(scope="module")
def api(shop: tuple[Settings, LoopRun]) -> Iterator[TestClient]:
    settings, _ = shop
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_api_answers_search_and_an_empty_recs_fallback(
    shop: tuple[Settings, LoopRun], api: TestClient
) -> None:
    settings, loop = shop
    answer = api.get("/search", params={"q": "makita drill", "k": 5})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert loop.search is not None
    assert loop.search.version is not None
    assert body["mode"] == read_version_meta(settings, loop.search.version)["served_mode"] == "hybrid"
    titles = [item["title"] for item in body["items"]]
    assert len(titles) == 5
    assert titles[0].startswith("Makita")
    assert titles[0].endswith("drill")
    recs = api.get("/recs/shopper-1", params={"k": 5})
    assert recs.status_code == 200
    assert (recs.json()["items"], recs.json()["fallback"]) == ([], True)
    ready = api.get("/ready").json()
    assert ready["components"]["search"].startswith("ok")


def test_without_judgments_the_first_version_still_serves(tmp_path: Path, mlflow_template: Path) -> None:
    settings = _home(tmp_path / "home", mlflow_template, judged=False)
    validate_lake(settings, max_invalid_share=0.0)
    run = run_search(settings, replace(SearchConfig(), n_trials=1), QUIET)
    assert run.metrics["relevance"]["gate"] is None
    assert "served_mode" not in run.metrics  # nothing to choose on: the hybrid serves, as before
    assert run.metrics["relevance"]["tuned_on_judgments"] is False
    assert run.version is not None
    assert read_version_meta(settings, run.version)["served_mode"] == "hybrid"
    assert read_version_meta(settings, run.version)["fusion"]["source"] == "default"
    assert run.registration is not None
    assert "as champion" in run.registration
    assert current_version(settings) == run.version
    first = read_version_meta(settings, run.version)
    assert first["product_precision"] == "int8"
    assert first["n_embedded"] == len(set(catalog_texts(_catalog().to_pandas())))  # each distinct text once
    with TestClient(create_app(settings)) as client:
        answer = client.get("/search", params={"q": "makita drill", "k": 5})
        assert answer.status_code == 200, answer.text
        assert answer.json()["items"][0]["title"].startswith("Makita")
        assert client.get("/ready").json()["components"]["search"].startswith("ok")
    again = run_search(settings, replace(SearchConfig(), n_trials=1), QUIET, force=True)
    assert again.registration is not None
    assert "not registered" in again.registration
    # the champion keeps serving: the forced run re-indexed its models (a refused retrain does not
    # stand for the re-index), so the served version carries the first's models
    served = current_version(settings)
    assert served is not None
    assert read_version_meta(settings, served)["model_version"] == first["model_version"]
    # The same catalog again: every vector comes from the home's cache, none is re-embedded.
    assert again.version is not None
    assert read_version_meta(settings, again.version)["n_embedded"] == 0
    assert f"0 product texts embedded, {len(_catalog())} vectors from the cache" in again.notes
