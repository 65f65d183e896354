"""A recommendations run's evaluation on its test window (docs/spec.md §3.8).

Every trained model and its ablations (two-tower alone, + ranker, + MMR = full) are scored on
``test`` with items new to the user (and against the simulator's truth when there is one);
the served policy and the models it is compared with are scored again counting repeat
purchases. The protocol itself is :mod:`vitrina.pipelines.recs.evaluation`.
"""

from __future__ import annotations

from typing import Any

from vitrina.adapters.lake.truth import load_truth
from vitrina.config import Settings
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.full import FullRecommender
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.selection import ALL_POSITIVES, DISCOVERY
from vitrina.pipelines.recs.engine import accuracy_join
from vitrina.pipelines.recs.evaluation import EvaluationSet, build_evaluation_set, evaluate_all

ALL_POSITIVES_ROWS = ("popularity", "als", "full", "served")
"""Models scored on ``test`` counting repeat purchases too: the served policy and what the gate
and the report compare it with."""


def ablations(full: FullRecommender) -> dict[str, Recommender]:
    """two-tower only, + ranker (when one was trained), + MMR (= full): one composition with
    fewer stages."""

    def variant(name: str, ranker: LambdaRanker | None) -> FullRecommender:
        return FullRecommender(
            candidates=full.candidates,
            ranker=ranker,
            features=full.features,
            rules=full.rules,
            cold_start=None,
            similarity=full.similarity,
            mmr_lambda=None,
            n_candidates=full.n_candidates,
            als=full.als if ranker is not None else None,
            name=name,
        )

    stages: dict[str, Recommender] = {"two_tower": variant("two_tower", None)}
    if full.ranker is not None:  # without one, "+ ranker" would be two-tower alone again
        stages["two_tower_ranker"] = variant("two_tower_ranker", full.ranker)
    return {**stages, "full": full}


def evaluate_on_test(
    settings: Settings,
    data: RecsData,
    models: dict[str, Recommender],
    notes: list[str],
    max_users: int | None = None,
) -> tuple[dict[str, Any], dict[str, EvaluationSet]]:
    """Every model on ``test`` (items new to the user; the simulator's truth when there is one),
    and the served policy with the models it is compared with counting repeats too; with the
    test users of each view (the first-version fallback's paired test reads them)."""
    try:
        truth = load_truth(settings)
    except FileNotFoundError:
        truth = None  # bring-your-own data: held-out metrics only
    evaluation = build_evaluation_set(data, part="test", truth=truth, max_users=max_users)
    join = accuracy_join(settings)  # in process, or on Spark with VITRINA_ENGINE=spark
    metrics = evaluate_all(models, data, evaluation=evaluation, accuracy=join)
    repeats = build_evaluation_set(data, part="test", repeats=True, max_users=max_users)
    compared = {name: models[name] for name in ALL_POSITIVES_ROWS if name in models}
    metrics["all_positives"] = evaluate_all(compared, data, evaluation=repeats, accuracy=join)["models"]
    notes.insert(0, measured_on(data, evaluation))
    return metrics, {DISCOVERY: evaluation, ALL_POSITIVES: repeats}


def measured_on(data: RecsData, evaluation: EvaluationSet) -> str:
    """The test window and how many users the numbers average over."""
    split = data.split
    end = split.end.isoformat() if split.end else "the end of the data"
    days = (split.valid_end - split.train_end).days
    sampled = (
        f" (a seeded sample of the {evaluation.sampled_from:,} who made one)"
        if evaluation.sampled_from
        else ""
    )
    return (
        f"Evaluated on {evaluation.users.size:,} users with a held-out choice between "
        f"{split.valid_end.isoformat()} and {end}{sampled} (test and validation windows of {days} "
        "days each)."
    )
