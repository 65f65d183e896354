"""Fine-tuning MiniLM on ci search logs improves held-out retrieval over the base model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings
from vitrina.core.search.product_text import catalog_texts
from vitrina.core.search.semantic.finetune import (
    REPORT_FILE,
    FinetuneConfig,
    TrainingBudget,
    finetune,
    load_model,
    read_report,
)
from vitrina.core.search.semantic.retrieval_quality import exact_ranker, retrieval_report
from vitrina.core.search.semantic.triples import held_out_clicks, holdout_start, id_texts, training_triples

pytestmark = [pytest.mark.unit, pytest.mark.slow]

# 40 steps of 32 triples. Measured on ci (seed 7) worlds ending on six different weekdays
# (2026-11-28 … 2026-12-04), held-out gains of recall@10 0.012–0.035 and of NDCG@10
# 0.020–0.034; the bars ask for under half the smallest gain. Ten steps gained −0.003–0.022:
# noise that passed or failed with the weekday the world ended on.
SMALL = FinetuneConfig(
    max_examples=1280, batch_size=32, learning_rate=1e-4, max_seconds=900, show_progress=False
)
MARGINS = {"recall@10": 0.005, "ndcg@10": 0.01}


@pytest.fixture(scope="module")
def ci_data(ci_settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    torch.set_num_threads(1)
    with Warehouse.from_settings(ci_settings) as warehouse:
        logs = warehouse.connection.sql("SELECT * FROM search_logs").df()
        catalog = warehouse.connection.sql("SELECT * FROM catalog ORDER BY product_id").df()
    return logs, catalog


def _report(model_dir: Path | None, catalog: pd.DataFrame, held: pd.DataFrame) -> dict[str, float]:
    model = load_model(model_dir)

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, batch_size=128, normalize_embeddings=True), np.float32)

    products = encode(catalog_texts(catalog))
    return retrieval_report(exact_ranker(encode, products), catalog["product_id"].tolist(), held).metrics


@pytest.mark.quality
def test_finetuning_beats_the_base_model_on_held_out_clicks(
    ci_data: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    logs, catalog = ci_data
    start = holdout_start(logs, days=5)
    triples = training_triples(logs, until=start, max_examples=SMALL.max_examples, seed=1)
    texts = id_texts(catalog["product_id"].tolist(), catalog_texts(catalog))
    report = finetune(triples, texts, tmp_path / "tuned", SMALL)

    assert (report.examples, report.steps, report.planned_steps) == (1280, 40, 40)
    assert not report.stopped_by_time
    assert report.tags("search_logs")["finetune.stopped_by"] == "steps"
    assert np.isfinite(report.train_loss)
    assert report.train_loss > 0
    files = {p.name for p in (tmp_path / "tuned").rglob("*")}
    assert {"model.safetensors", "tokenizer.json", "modules.json", REPORT_FILE} <= files
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)
    assert read_report(tmp_path / "tuned") == report

    held = held_out_clicks(logs, since=start)
    base = _report(None, catalog, held)
    tuned = _report(tmp_path / "tuned", catalog, held)
    for metric, margin in MARGINS.items():
        assert tuned[metric] >= base[metric] + margin, (metric, base, tuned)


def test_time_bound_and_bad_input_keep_the_last_good_model(
    ci_data: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    logs, catalog = ci_data
    triples = training_triples(logs, max_examples=256, seed=2)
    texts = id_texts(catalog["product_id"].tolist(), catalog_texts(catalog))
    quick = FinetuneConfig(max_examples=256, batch_size=16, max_seconds=0.01, show_progress=False)
    report = finetune(triples, texts, tmp_path / "model", quick)
    assert report.stopped_by_time
    assert (report.steps, report.planned_steps) == (1, 16)
    assert report.tags("search_logs")["finetune.stopped_by"] == "wall_clock_safety_stop"
    saved = json.loads((tmp_path / "model" / REPORT_FILE).read_text())
    assert saved["stopped_by_time"] is True

    with pytest.raises(ValueError, match="at least 2 triples"):
        finetune(triples, {}, tmp_path / "model", quick)  # no product text known
    assert read_report(tmp_path / "model") == report
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_learning_rate_follows_the_planned_steps_whatever_the_clock_says() -> None:
    budget = TrainingBudget(total_steps=10, max_seconds=1e6, warmup=0.1)
    assert 0 < budget.lr_factor(0) < 0.2  # warming up
    assert budget.lr_factor(1) == pytest.approx(1.0)  # peak after 10 % of the steps
    assert budget.lr_factor(5) == pytest.approx(0.5 / 0.9)
    assert budget.lr_factor(10) == 0.0
    assert not budget.overdue()
    budget.started -= 2e6  # a machine far slower than planned: past the safety stop
    assert budget.overdue()
    assert budget.lr_factor(1) == pytest.approx(1.0)  # the schedule does not move with the clock
    assert budget.lr_factor(5) == pytest.approx(0.5 / 0.9)
