"""Model cards: every section of the seeds' cards, filled from the run; TreeSHAP importance
that adds up to the model's score and finds the informative feature; files in the home."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from vitrina.adapters.lake.digest import TableDigest
from vitrina.adapters.registry.card_templates import template_for
from vitrina.adapters.registry.importance import shap_importance, write_importance
from vitrina.adapters.registry.mlflow_client import RECS_MODEL, SEARCH_MODEL
from vitrina.adapters.registry.model_card import CardInputs, FeatureDoc, render_model_card, write_model_card
from vitrina.config import Settings
from vitrina.core.promotion.gate import GateInput, GateThresholds, decide

pytestmark = pytest.mark.unit

SECTIONS = (
    "## General information",
    "## Training data",
    "## Offline metrics",
    "## Gate",
    "## Business KPIs impacted",
    "## Limitations and known biases",
    "## Intended use",
    "## Alert thresholds",
    "## Global feature importance (SHAP)",
)


def booster(seed: int = 0) -> tuple[lgb.Booster, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"signal": rng.normal(size=600), "noise": rng.normal(size=600)})
    target = 3 * frame["signal"] + rng.normal(scale=0.1, size=600)
    params = {"objective": "regression", "num_threads": 1, "verbosity": -1, "seed": seed}
    return lgb.train(params, lgb.Dataset(frame, target), num_boost_round=30), frame


def test_shap_importance_adds_up_and_ranks_the_signal_first() -> None:
    model, frame = booster()
    importance = shap_importance(model, frame)
    assert list(importance.index) == ["signal", "noise"]
    assert importance["signal"] > 10 * importance["noise"]
    contrib = model.predict(frame, pred_contrib=True)
    assert np.allclose(contrib.sum(axis=1), model.predict(frame))  # TreeSHAP is exact
    with pytest.raises(ValueError, match="lack columns"):
        shap_importance(model, frame[["signal"]])


def test_write_importance_writes_a_png_and_json(tmp_path: Path) -> None:
    model, frame = booster()
    files = write_importance(shap_importance(model, frame), tmp_path, "test")
    assert files[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(json.loads(files[0].read_text())) == {"signal", "noise"}


def card_inputs(settings: Settings, importance: pd.Series | None) -> CardInputs:
    gate = decide(GateInput(0.06, behaviour=[]), GateThresholds(0.03))
    return CardInputs(
        model=RECS_MODEL,
        version=3,
        mlflow_run_id="abc123",
        template=template_for(settings, RECS_MODEL),
        tags={"git_sha": "f" * 40, "dataset_version": "0123456789abcdef", "train_date": "2026-11-22"},
        created=dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
        datasets=[
            TableDigest("validated", "events", "/lake/validated/events", "e" * 64, 3, 1234, ("user_id",))
        ],
        metrics={"models": {"popularity": {"ndcg@10": 0.03}, "full": {"ndcg@10": 0.06}}},
        gate=gate.to_dict(),
        params={"mmr_lambda": 0.7},
        data_window={"train": "… → 2026-11-08"},
        features=[FeatureDoc("item_price", "item", "currency", "current price")],
        importance=importance,
    )


def test_the_card_has_every_seed_section_and_the_run_numbers(settings: Settings) -> None:
    model, frame = booster()
    text = render_model_card(card_inputs(settings, shap_importance(model, frame)))
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "| **full** | 0.0600" in text
    assert "Decision: **failed**" in text  # no behaviour test was passed in
    assert "`0123456789abcdef`" in text
    assert "![SHAP importance](vitrina-recs-v3/shap_importance.png)" in text
    assert f"< {settings.gate_ndcg_floor_recs:g} → gate blocks registration" in text


def test_write_model_card_puts_files_under_the_home(settings: Settings) -> None:
    model, frame = booster()
    files = write_model_card(
        settings, card_inputs(settings, shap_importance(model, frame)), {"events": [("user_id", "string")]}
    )
    root = settings.home / "docs" / "model_cards"
    assert files[0] == root / "vitrina-recs-v3.md"
    assert {f.name for f in files[1:]} == {
        "data_dictionary.md",
        "shap_importance.json",
        "shap_importance.png",
    }
    dictionary = (root / "vitrina-recs-v3" / "data_dictionary.md").read_text()
    assert "| user_id | string |" in dictionary
    assert "| item_price | item | currency | current price |" in dictionary


def test_a_card_without_shap_says_so(settings: Settings) -> None:
    text = render_model_card(card_inputs(settings, None))
    assert "Not computed for this version." in text


def test_each_model_has_its_own_template(settings: Settings) -> None:
    assert "Spanish" in template_for(settings, SEARCH_MODEL).intended_use
    with pytest.raises(ValueError, match="no model card template"):
        template_for(settings, "other")


def test_a_card_says_which_parts_the_version_was_trained_without(settings: Settings) -> None:
    inputs = dataclasses.replace(card_inputs(settings, None), left_out=("no ranker: nobody came back",))
    text = render_model_card(inputs)
    limitations = text[text.index("## Limitations") : text.index("## Intended use")]
    assert "- This version: no ranker: nobody came back." in limitations
    assert "This version" not in render_model_card(card_inputs(settings, None))
