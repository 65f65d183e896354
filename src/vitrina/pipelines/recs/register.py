"""The recommendations side of the register step: behaviour tests on the assembled model,
a SHAP sample for the ranker, the feature dictionary, then :func:`gate_and_register`.

Called by :func:`vitrina.pipelines.recs.run.run_recs` after evaluation with the model exactly
as it would be published (assembled as of the end of the data).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vitrina.adapters.features.definitions import all_features
from vitrina.adapters.lake.digest import table_digests
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.registry.importance import shap_importance
from vitrina.adapters.registry.mlflow_client import RECS_MODEL
from vitrina.adapters.registry.model_card import RECS_SECTIONS, FeatureDoc
from vitrina.config import Settings
from vitrina.core.evaluation.behaviour import BehaviourCheck, cold_users_served, no_unservable_items
from vitrina.core.ranking.interactions import IntArray
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.full import FullRecommender
from vitrina.core.recs.policy import ServedModel
from vitrina.pipelines.registration import Candidate, Registration, gate_and_register

INPUT_TABLES = ("catalog", "users", "events", "transactions")
VALIDATION_SECTIONS = {
    "validation": "validation window, every contender (choice of the served policy)",
    "validation_ranker_heldout": "validation window, users the ranker never fitted on",
    "validation_chosen": "validation window, each list's choice (served: all positives; discover: discovery; "
    "paired test p: the one-sided paired t-test behind it, tag selection.<list>_test)",
    "validation_pooled": "validation windows pooled (a small shop), the contenders without a trained model",
    "validation_popularity_recency": "validation windows, recent popularity at each recency",
    "validation_buy_again_timing": "validation windows, buy-again at each timing (users who bought before)",
    "validation_ease_lambda": "validation windows, EASE at each λ / mean Gram diagonal, at the chosen "
    "recency decay (users who bought before)",
    "validation_ease_recency": "validation windows, EASE at each recency decay of the profile, at the "
    "chosen λ (users who bought before)",
}
PAIR_FEATURES = {
    "retrieval_score": ("retrieval", "cosine", "two-tower cosine of the user and the candidate"),
    "als_score": ("retrieval", "dot product", "ALS user · item factors"),
    "user_item_i2v_cosine": ("cross", "cosine", "Item2Vec cosine of the user profile and the item"),
}


def _sample(pool: IntArray, n: int, rng: np.random.Generator) -> IntArray:
    return np.sort(rng.choice(pool, size=min(n, pool.size), replace=False)) if pool.size else pool


def recs_behaviour(
    full: FullRecommender,
    data: RecsData,
    k: int,
    n_users: int = 1000,
    n_cold: int = 500,
    seed: int = 0,
    served: ServedModel | None = None,
) -> list[BehaviourCheck]:
    """No unservable product in any list, and every cold-start user (cold by ``full``'s cold
    start) gets a list, on a sample of users (plus a sample of cold ones) served exactly as
    batch inference serves them (with ``served``, default ``full``)."""
    rng = np.random.default_rng(seed)
    everyone = np.arange(len(data.users), dtype=np.int64)
    cold_mask = full.cold_start.is_cold(everyone) if full.cold_start is not None else np.zeros(0, bool)
    cold = _sample(everyone[cold_mask], n_cold, rng) if cold_mask.size else everyone[:0]
    users = np.union1d(_sample(everyone, n_users, rng), cold)
    items, _, _ = (served or full).recommend_with_reasons(users, k, ~data.servable)
    return [
        no_unservable_items(items, data.servable, list(data.items.ids)),
        cold_users_served(items[np.isin(users, cold)]),
    ]


def ranker_sample(
    full: FullRecommender, data: RecsData, n_users: int = 200, n_rows: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """``n_rows`` feature rows drawn from the candidates of ``n_users`` warm users, as the
    ranker scores them (TreeSHAP costs grow with rows × trees; 2,000 rows pin the global
    mean |SHAP| well and take about a second on one thread)."""
    rng = np.random.default_rng(seed)
    everyone = np.arange(len(data.users), dtype=np.int64)
    warm = everyone[~full.cold_start.is_cold(everyone)] if full.cold_start is not None else everyone
    users = _sample(warm, n_users, rng)
    candidates, relevance = full.candidate_matrix(users, full.n_candidates, ~data.servable)
    _, frame = full.ranker_inputs(users, np.where(np.isfinite(relevance), candidates, PAD), relevance)
    if len(frame) <= n_rows:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), size=n_rows, replace=False))].reset_index(drop=True)


def feature_docs(names: list[str]) -> list[FeatureDoc]:
    """The data-dictionary entry of each ranker input (feature store definitions, then the
    pair features the pipeline adds)."""
    known = {f.name: (frame, f) for frame, f in all_features()}
    docs = []
    for name in names:
        base = name.removeprefix("cross_")
        if name in PAIR_FEATURES:
            source, unit, description = PAIR_FEATURES[name]
            docs.append(FeatureDoc(name, source, unit, description))
        elif base in known:
            frame, feature = known[base]
            docs.append(FeatureDoc(name, frame, feature.unit, feature.description))
        else:
            docs.append(FeatureDoc(name, "pipeline"))
    return docs


def register_recs(
    settings: Settings,
    *,
    run_id: str,
    bundle_dir: str,
    report_dir: str | None,
    metrics: Mapping[str, Any],
    data: RecsData,
    full: FullRecommender,
    params: Mapping[str, object],
    max_psi: float | None,
    psi_skip_reason: str | None = None,
    tags: Mapping[str, str] | None = None,
    k: int = 20,
    left_out: Sequence[str] = (),
    served: ServedModel | None = None,
    gate_section: str = "models",
) -> Registration:
    """Gate and register the run's bundle as ``vitrina-recs`` (see :mod:`.register`);
    ``params`` are the run's knobs (the ranker's tuned parameters are added). ``served`` is
    the policy the run serves (default: ``full``), scored as ``served`` in ``metrics``
    (else ``full``) and held to popularity in ``gate_section``."""
    ranker = full.ranker
    importance = None
    knobs: dict[str, object] = dict(params)
    if ranker is not None and ranker.booster is not None:
        importance = shap_importance(ranker.booster, ranker_sample(full, data))
        knobs.update({f"ranker.{key}": value for key, value in ranker.params.items()})
        knobs["ranker.best_iteration"] = ranker.best_iteration
        knobs["ranker.valid_ndcg@10"] = ranker.best_ndcg
    split = data.split
    candidate = Candidate(
        model=RECS_MODEL,
        pipeline_run_id=run_id,
        train_date=dt.datetime.now(dt.UTC).date(),
        bundle_dir=bundle_dir,
        report_dir=report_dir,
        metrics=metrics,
        behaviour=recs_behaviour(full, data, k, served=served),
        served_model="served" if served is not None else "full",
        gate_section=gate_section,
        metric_sections={**RECS_SECTIONS, **VALIDATION_SECTIONS},
        max_psi=max_psi,
        psi_skip_reason=psi_skip_reason,
        tags=dict(tags or {}),
        params={key.replace("@", "_at_"): value for key, value in knobs.items()},
        datasets=table_digests(LakePaths(settings.lake), "validated", INPUT_TABLES),
        data_window={
            "train": f"… → {split.train_end.isoformat()}",
            "validation (ranker labels)": f"{split.train_end.isoformat()} → {split.valid_end.isoformat()}",
            "test (evaluation)": f"{split.valid_end.isoformat()} → "
            + (split.end.isoformat() if split.end else "end of data"),
        },
        features=feature_docs(ranker.feature_names) if ranker is not None else [],
        importance=importance,
        left_out=tuple(left_out),
    )
    return gate_and_register(settings, candidate)
