"""The LambdaRank ranker learns a signal, is reproducible for a seed, round-trips through its
text artifacts, and beats the popularity order on the ci marketplace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vitrina.config import Settings
from vitrina.core.ranking.interactions import EVENT_WEIGHT, IntArray
from vitrina.core.ranking.lambdarank import META_FILE, MODEL_FILE, LambdaRanker, frame_ndcg
from vitrina.core.ranking.training_set import RETRIEVAL_SCORE, RankingFrame, build_ranking_frame
from vitrina.core.recs.dataset import RecsData
from vitrina.pipelines.recs.dataset import load_recs_data

pytestmark = pytest.mark.unit


def synthetic_frame(seed: int, n_groups: int = 120, size: int = 20) -> RankingFrame:
    """Queries whose gains follow a hidden score made of a numeric and a categorical signal."""
    rng = np.random.default_rng(seed)
    n = n_groups * size
    signal = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    hidden = signal + np.where(colour == "red", 1.0, 0.0) + rng.normal(scale=0.5, size=n)
    labels = np.digitize(hidden, [1.0, 2.0])  # 0, 1 or 2
    features = pd.DataFrame(
        {
            "signal": signal,
            "noise": rng.normal(size=n),
            "colour": pd.Categorical(colour, categories=["blue", "green", "red"]),
        }
    )
    groups = np.repeat(np.arange(n_groups), size)
    return RankingFrame(features, labels, groups, groups, np.tile(np.arange(size), n_groups))


def small_ranker() -> LambdaRanker:
    return LambdaRanker(max_rounds=60, early_stopping_rounds=10, num_threads=1)


@pytest.fixture(scope="module")
def fitted() -> tuple[LambdaRanker, RankingFrame]:
    valid = synthetic_frame(2)
    return small_ranker().fit(synthetic_frame(1), valid, n_trials=3, seed=5), valid


def test_ranker_learns_the_signal_and_reports_the_metric_it_optimised(
    fitted: tuple[LambdaRanker, RankingFrame],
) -> None:
    ranker, valid = fitted
    scores = ranker.predict(valid.features)
    learned = frame_ndcg(valid, scores)
    assert learned > frame_ndcg(valid, valid.features["noise"].to_numpy()) + 0.2
    # label_gain [0, 1, 3] = vitrina.core.metrics' exponential gain: LightGBM's NDCG@10 is ours.
    assert ranker.best_ndcg == pytest.approx(learned, abs=1e-6)
    assert len(ranker.trials) == 3
    best = max(ranker.trials, key=lambda t: t["ndcg@10"])
    kept = best if best.get("p_better_than_default", 0.0) < 0.05 else ranker.trials[0]
    assert kept["ndcg@10"] == ranker.best_ndcg
    importance = ranker.feature_importance()
    assert importance.index[0] == "signal"
    assert importance["colour"] > importance["noise"]


def test_a_trial_replaces_the_default_only_when_better_beyond_noise() -> None:
    # labels independent of the features: every trial's validation NDCG differs from the
    # default's by chance alone, and the highest mean is not the default's
    def noise_frame(seed: int) -> RankingFrame:
        frame = synthetic_frame(seed)
        rng = np.random.default_rng(seed + 100)
        labels = rng.choice([0, 1, 2], size=len(frame), p=[0.8, 0.15, 0.05])
        return RankingFrame(frame.features, labels.astype(np.int64), frame.groups, frame.users, frame.items)

    ranker = small_ranker().fit(noise_frame(1), noise_frame(2), n_trials=4, seed=5)
    best = max(ranker.trials, key=lambda t: t["ndcg@10"])
    assert best["number"] != 0
    assert best["ndcg@10"] > ranker.trials[0]["ndcg@10"]
    assert best["p_better_than_default"] >= 0.05
    assert ranker.best_ndcg == ranker.trials[0]["ndcg@10"]
    assert ranker.best_iteration == ranker.trials[0]["best_iteration"]
    assert ranker.params["num_leaves"] == 15
    assert ranker.params["learning_rate"] == 0.05


def test_same_seed_same_trials_and_scores(fitted: tuple[LambdaRanker, RankingFrame]) -> None:
    ranker, valid = fitted
    again = small_ranker().fit(synthetic_frame(1), valid, n_trials=3, seed=5)
    assert [t["params"] for t in again.trials] == [t["params"] for t in ranker.trials]
    assert np.array_equal(again.predict(valid.features), ranker.predict(valid.features))


def test_save_and_load_give_the_same_scores(
    fitted: tuple[LambdaRanker, RankingFrame], tmp_path: Path
) -> None:
    ranker, valid = fitted
    folder = ranker.save(str(tmp_path / "ranker"))
    text = (tmp_path / "ranker" / MODEL_FILE).read_text()
    assert text.startswith("tree")  # LightGBM's own text format, no pickle
    meta = json.loads((tmp_path / "ranker" / META_FILE).read_text())
    assert meta["feature_names"] == ["signal", "noise", "colour"]
    assert meta["best_ndcg@10"] == ranker.best_ndcg
    assert set(meta["importance_gain"]) == {"signal", "noise", "colour"}
    loaded = LambdaRanker.load(folder)
    shuffled = valid.features[["colour", "noise", "signal"]]  # columns are matched by name
    assert np.array_equal(loaded.predict(shuffled), ranker.predict(valid.features))
    assert loaded.trials == ranker.trials


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numeric_frames_score_exactly_as_lightgbm_scores_the_frame(dtype: str) -> None:
    """Numeric frames skip LightGBM's pandas handling (one contiguous matrix in the dtype it would
    pick); the scores must be bit-identical to the booster's own, shuffled and extra columns too."""
    frame = synthetic_frame(3)
    numeric = frame.features.assign(colour=frame.features["colour"].cat.codes.astype(dtype))
    numeric = numeric.astype(dtype)
    train = RankingFrame(numeric, frame.labels, frame.groups, frame.users, frame.items)
    ranker = small_ranker().fit(train, train, n_trials=1, seed=0)
    assert ranker.booster is not None
    expected = ranker.booster.predict(numeric)
    shuffled = numeric[["noise", "colour", "signal"]].assign(extra=1.0)
    assert np.array_equal(ranker.predict(shuffled), expected)
    assert np.array_equal(ranker.predict(numeric), expected)


def test_pointwise_objective_learns_weights_and_round_trips(tmp_path: Path) -> None:
    train, valid = synthetic_frame(1), synthetic_frame(2)
    pointwise = LambdaRanker(max_rounds=60, early_stopping_rounds=10, num_threads=1, objective="binary")
    pointwise.fit(train, valid, n_trials=3, seed=5)
    scores = pointwise.predict(valid.features)
    assert frame_ndcg(valid, scores) > frame_ndcg(valid, valid.features["noise"].to_numpy()) + 0.2
    assert pointwise.best_ndcg == pytest.approx(frame_ndcg(valid, scores), abs=1e-9)
    chosen = min(pointwise.trials, key=lambda t: t["valid_logloss"])  # the loss picks the trial
    assert (pointwise.best_iteration, pointwise.best_ndcg) == (chosen["best_iteration"], chosen["ndcg@10"])
    # weighting the positives among red items up makes the model favour red items more
    red = (train.features["colour"] == "red").to_numpy()
    heavy = train.with_weights(np.where(red & (train.labels > 0), 10.0, 1.0))
    weighted = LambdaRanker(max_rounds=60, early_stopping_rounds=10, num_threads=1, objective="binary")
    weighted.fit(heavy, valid, n_trials=1, seed=5)
    is_red = (valid.features["colour"] == "red").to_numpy()

    def red_lift(model: LambdaRanker) -> float:
        margin = model.predict(valid.features)
        return float(margin[is_red].mean() - margin[~is_red].mean())

    assert red_lift(weighted) > red_lift(pointwise)
    folder = pointwise.save(str(tmp_path / "pointwise"))
    loaded = LambdaRanker.load(folder)
    assert loaded.objective == "binary"
    assert np.array_equal(loaded.predict(valid.features), scores)
    with pytest.raises(ValueError, match="objective"):
        LambdaRanker(objective="regression").fit(train, valid, n_trials=1)


def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    frame = synthetic_frame(3, n_groups=5)
    text = RankingFrame(
        frame.features.assign(noise=frame.features["noise"].astype(str)),
        frame.labels,
        frame.groups,
        frame.users,
        frame.items,
    )
    with pytest.raises(ValueError, match="noise"):
        small_ranker().fit(text, frame, n_trials=1)
    other = RankingFrame(
        frame.features[["noise", "signal", "colour"]], frame.labels, frame.groups, frame.users, frame.items
    )
    with pytest.raises(ValueError, match="same feature columns"):
        small_ranker().fit(frame, other, n_trials=1)
    with pytest.raises(RuntimeError, match="not fitted"):
        small_ranker().predict(frame.features)
    with pytest.raises(FileNotFoundError):
        LambdaRanker.load(str(tmp_path / "nothing"))


def test_frame_ndcg_orders_each_query_by_score() -> None:
    features = pd.DataFrame({"x": np.zeros(5)})
    frame = RankingFrame(features, [0, 2, 1, 1, 0], [7, 7, 7, 9, 9], np.zeros(5), [0, 1, 2, 0, 1])
    perfect = frame_ndcg(frame, [0.0, 3.0, 2.0, 1.0, 0.0])
    assert perfect == pytest.approx(1.0)
    # query 7 ranked 0, 1, 2 (gains 0, 2, 1); query 9 perfect
    dcg = 3 / np.log2(3) + 1 / np.log2(4)
    ideal = 3 + 1 / np.log2(3)
    assert frame_ndcg(frame, [3.0, 2.0, 1.0, 1.0, 0.0]) == pytest.approx((dcg / ideal + 1) / 2)


# -- on the ci marketplace ------------------------------------------------------------------


def popularity_frame(data: RecsData, cutoff: int, horizon: int, n_candidates: int) -> RankingFrame:
    """Top popular items before ``cutoff`` as candidates for every user, with item popularity
    and the user's affinity to the candidate's category as features."""
    history = data.interactions.before(cutoff).positives()
    n_items, n_users = len(data.items), len(data.users)
    popularity = np.bincount(history.item, weights=EVENT_WEIGHT[history.event], minlength=n_items)
    top: IntArray = np.argsort(-popularity, kind="stable")[:n_candidates]
    category = data.item_category
    n_categories = int(category.max()) + 1
    affinity = np.zeros((n_users, n_categories))
    np.add.at(affinity, (history.user, category[history.item]), EVENT_WEIGHT[history.event])
    affinity /= np.maximum(affinity.sum(axis=1, keepdims=True), 1.0)
    users = np.arange(n_users)
    candidates = np.tile(top, (n_users, 1))
    item_features = pd.DataFrame({"log_popularity": np.log1p(popularity)})
    user_features = pd.DataFrame({"n_events": np.bincount(history.user, minlength=n_users).astype(float)})

    def cross(u: IntArray, i: IntArray) -> pd.DataFrame:
        return pd.DataFrame({"category_affinity": affinity[u, category[i]]})

    return build_ranking_frame(
        users,
        candidates,
        np.tile(popularity[top], (n_users, 1)),
        data.interactions,
        cutoff,
        horizon,
        user_features=user_features,
        item_features=item_features,
        cross=cross,
    )


@pytest.mark.slow
@pytest.mark.quality
def test_lambdarank_beats_popularity_on_the_ci_marketplace(ci_settings: Settings) -> None:
    data = load_recs_data(ci_settings)
    week = data.valid_end_us - data.train_end_us
    # train: candidates as of the end of train, labels from the validation week;
    # valid: candidates as of the end of validation, labels from the test week.
    train = popularity_frame(data, data.train_end_us, week, n_candidates=50)
    valid = popularity_frame(data, data.valid_end_us, week, n_candidates=50)
    ranker = LambdaRanker(max_rounds=100, early_stopping_rounds=15, num_threads=1).fit(
        train, valid, n_trials=2, seed=0
    )
    popularity_order = frame_ndcg(valid, valid.features[RETRIEVAL_SCORE].to_numpy())
    ranked = frame_ndcg(valid, ranker.predict(valid.features))
    # measured: 0.348 vs 0.160; the bar is the project's own (full ≥ 1.3× popularity)
    assert ranked > popularity_order * 1.3
