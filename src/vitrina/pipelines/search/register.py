"""The search side of the register step: behaviour tests on the engine as it will serve,
a SHAP sample of the ranker, the feature dictionary, then :func:`gate_and_register`.

What is registered as ``vitrina-search`` is the run's model folder (bi-encoder, ONNX export,
ranker) plus ``index_version.json`` naming the index version built with it. Serving follows
the champion: registering a champion (or promoting / rolling back) switches the index
pointer to the version the champion names
(:func:`~vitrina.adapters.models.champion_index.serve_champion_index`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vitrina.adapters.lake.digest import table_digests
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.models.champion_index import INDEX_FILE, serve_champion_index
from vitrina.adapters.registry.importance import shap_importance
from vitrina.adapters.registry.mlflow_client import SEARCH_MODEL
from vitrina.adapters.registry.model_card import FeatureDoc
from vitrina.config import Settings
from vitrina.core.evaluation.behaviour import BehaviourCheck, exact_titles_found, no_unservable_items
from vitrina.core.evaluation.relevance_source import NOTHING_TO_MEASURE, gate_source
from vitrina.core.metrics import PAD
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.ranker_features import FEATURES
from vitrina.pipelines.registration import Candidate, GatePsi, Registration, gate_and_register
from vitrina.pipelines.search.live_champion import live_gate_check, live_tags

INPUT_TABLES = ("catalog", "search_logs", "judgments")
SECTIONS = {
    "judgments": "the shop's judgments",
    "judgments_selection": "the shop's judgments, selection half (chose the served mode; not gated on)",
    "models": "simulator qrels",
    "logs": "held-out search logs",
}


def search_behaviour(
    engine: SearchEngine, queries: list[str], n_titles: int = 200, seed: int = 0
) -> list[BehaviourCheck]:
    """An exact title finds its product in the top 3; no result list holds an unservable product."""
    products = engine.products
    frame = products.frame
    servable_rows = np.flatnonzero(products.servable)
    rng = np.random.default_rng(seed)
    picked = rng.choice(servable_rows, size=min(n_titles, servable_rows.size), replace=False)
    titles = dict(zip(frame["product_id"].iloc[picked], frame["title"].iloc[picked], strict=True))

    def ids_for(query: str) -> list[str]:
        return [str(p) for p in frame["product_id"].iloc[engine.search(query, k=3).rows]]

    lists = np.full((len(queries), 20), PAD, dtype=np.int64)
    for i, query in enumerate(queries):
        rows = engine.search(query, k=20).rows
        lists[i, : rows.size] = rows
    every_title = dict(zip(frame["product_id"], frame["title"], strict=True))
    return [
        exact_titles_found(ids_for, titles, k=3, catalog_titles=every_title),
        no_unservable_items(lists, products.servable),
    ]


def ranker_features_sample(frame: pd.DataFrame, n_rows: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Rows of the ranker's training frame for TreeSHAP (cost grows with rows × trees)."""
    if len(frame) <= n_rows:
        return frame
    return frame.sample(n=n_rows, random_state=seed).reset_index(drop=True)


def register_search(
    settings: Settings,
    *,
    run_id: str,
    bundle_dir: Path,
    index_version: str,
    engine: SearchEngine,
    metrics: dict[str, Any],
    queries: list[str],
    training_rows: pd.DataFrame | None,
    params: dict[str, object],
    data_window: dict[str, str],
    psi: GatePsi | None = None,
    tags: dict[str, str] | None = None,
    served_model: str | None = None,
) -> Registration:
    """Gate and register this run; a champion's index version becomes the served one.

    The gate reads the section :func:`~vitrina.core.evaluation.relevance_source.gate_source`
    picks from ``metrics`` (judgments, else qrels, else held-out logs); with none of them, a
    first version still registers, the reason recorded. ``served_model`` is the evaluation
    model the engine serves as (default: ``hybrid_ltr`` with a ranker, else ``hybrid``). With
    ``settings.gate_live_search``, a version the served one beats beyond noise on the same
    held-out live searches fails the gate's ``vs_champion_live`` check (recorded either way,
    :mod:`vitrina.pipelines.search.live_champion`)."""
    (bundle_dir / INDEX_FILE).write_text(json.dumps({"index_version": index_version}))
    ranker = engine.ranker
    importance = None
    if ranker is not None and ranker.booster is not None and training_rows is not None:
        importance = shap_importance(
            ranker.booster, ranker_features_sample(training_rows)[ranker.feature_names]
        )
    chosen = gate_source(metrics)
    candidate = Candidate(
        model=SEARCH_MODEL,
        pipeline_run_id=run_id,
        train_date=dt.datetime.now(dt.UTC).date(),
        bundle_dir=str(bundle_dir),
        metrics=metrics,
        behaviour=search_behaviour(engine, queries),
        served_model=served_model or ("hybrid_ltr" if ranker is not None else "hybrid"),
        baseline_model="bm25",
        max_psi=None if psi is None else psi.value,
        psi_skip_reason=None if psi is None else psi.skip_reason,
        tags={**(tags or {}), **live_tags(metrics)},
        params={**params, "index_version": index_version},
        datasets=table_digests(LakePaths(settings.lake), "validated", INPUT_TABLES),
        data_window=data_window,
        metric_sections=SECTIONS,
        features=[
            FeatureDoc(name, "search ranking", "", "see vitrina.core.search.ranker_features")
            for name in FEATURES
        ],
        importance=importance,
        gate_section=chosen.section or "models",
        relevance_source=chosen.label,
        unmeasured_reason=NOTHING_TO_MEASURE if chosen.section is None else None,
        extra_checks=(live_gate_check(metrics, enforce=settings.gate_live_search),),
    )
    registration = gate_and_register(settings, candidate)
    serve_champion_index(settings)
    return registration
