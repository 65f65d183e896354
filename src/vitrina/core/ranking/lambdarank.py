"""LightGBM ranker over candidate features, tuned by Optuna (docs/spec.md §3.4).

The ranker re-orders a candidate generator's output for each query (a user at a cutoff)
using user, item, cross and retrieval-score features (:class:`RankingFrame`). Two
objectives, both early-stopped and tuned on validation NDCG@10:

* ``"lambdarank"``: LambdaRank, pairwise swaps weighted by the NDCG change;
* ``"binary"``: pointwise cross-entropy on "did the user choose it" (label > 0). With
  sparse labels (on the demo ≈ 2 positives among ≈ 115 candidates per query) it learns
  more from the same rows: in 5-fold cross-validation over users it ordered held-out
  choices 2.6 % better than the ALS score alone, LambdaRank 0 % (ADR-0012). Its row
  weights also weight each row's loss, which is what inverse-propensity weights
  (:mod:`vitrina.core.recs.exposure`) mean; LightGBM's LambdaRank only scales a row's summed
  pairwise gradient by its weight.

Labels are graded gains (0 shown/sampled, 1 click or cart, 2 purchase) and ``label_gain``
is set to ``2**label - 1`` = ``[0, 1, 3]``, the exponential gain of :mod:`vitrina.core.metrics`,
so LightGBM's validation NDCG and the offline report measure the same thing. Row weights of
the training frame (``RankingFrame.weights``) weight the loss; the validation frame is
scored unweighted, as the offline report does.

Tuning: an Optuna TPE study (seeded, so the same data and seed give the same trials) over
the parameters that matter most for GBDT rankers; the first trial is a sensible default so
even ``n_trials=1`` is a reasonable model. Each trial trains with early stopping on the
validation set and records its validation NDCG@10 (:func:`frame_ndcg`, unweighted). For
LambdaRank, NDCG@10 both stops the trial and picks the best one. For the pointwise
objective the (weighted) validation log-loss does both: over a thousand-odd queries with
≈ 2 positives each, NDCG@10 has a standard error of several thousandths, more than trials
differ by, so it peaks by chance within a few rounds and picks lucky trials (on the demo a
33-tree trial at learning rate 0.15, which then did slightly worse on the test week). The same
noise picks LambdaRank trials, so there a trial replaces the first one (the default) only when
it beats it by the one-sided paired t-test on per-query validation NDCG@10
(:mod:`vitrina.core.metrics.paired`, ADR-0051): on a demo world's search ranker the highest mean
was a 3-tree trial at learning rate 0.15, 0.004 above the default's 26 trees and no better
beyond noise, and it ranked the simulator's judged queries 0.03 NDCG@10 worse. The chosen
trial's booster, cut at its best iteration, is kept — no refit, because the early-stopping
point is itself chosen on validation and a refit on train+valid would have no honest
stopping point.

Artifacts (:meth:`LambdaRanker.save`): ``model.txt`` (LightGBM text format, readable by any
LightGBM) and ``ranker.json`` (objective, feature names, parameters, NDCG@10, trials, gain
importance). No pickle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd

from vitrina.core.artifacts import manifest
from vitrina.core.artifacts.files import filesystem, read_json, write_json_atomic, write_text_atomic
from vitrina.core.metrics import PAD, Truth, judge, mean_over_queries, ndcg
from vitrina.core.metrics.paired import LEVEL, p_better
from vitrina.core.ranking.interactions import FloatArray
from vitrina.core.ranking.training_set import RankingFrame

logger = logging.getLogger(__name__)

MODEL_FILE = "model.txt"
META_FILE = "ranker.json"
EVAL_AT = 10
METRIC = f"ndcg@{EVAL_AT}"

OBJECTIVES = ("lambdarank", "binary")

# First trial of every study: small trees and half the features per tree. Labels are sparse
# and noisy, so larger trees (31 leaves, 50 rows per leaf) overfit within a few dozen rounds
# (5-fold comparison on the demo's ranker queries). Learning rate 0.05: ~150 trees, where
# 0.03 needs ~270 for the same test-week NDCG@10 (0.0568 / 0.0760 vs 0.0569 / 0.0761) and
# every tree is paid again at batch inference, ~100 rows per user.
DEFAULT_PARAMS: dict[str, Any] = {
    "num_leaves": 15,
    "learning_rate": 0.05,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.9,
    "lambda_l2": 1.0,
}


@dataclass
class LambdaRanker:
    """LightGBM ranker; :meth:`fit` tunes and trains, :meth:`predict` scores feature rows.

    Args:
        objective: ``"lambdarank"`` or ``"binary"`` (see the module docstring).
        max_rounds: boosting rounds per trial before early stopping must have stopped it.
        early_stopping_rounds: rounds without validation NDCG@10 improvement that end a trial.
        num_threads: LightGBM threads (0 = OpenMP default); results are reproducible for a
            fixed value (``deterministic`` mode), not across different values. On a loaded
            machine prefer 1: OpenMP threads spin while waiting for a busy core (the
            benchmark's 3-trial fit took 26 s on 1 thread, 138 s on 2 with other jobs running).
    """

    max_rounds: int = 1000
    early_stopping_rounds: int = 50
    num_threads: int = 0
    objective: str = "lambdarank"
    name: str = "lambdarank"
    booster: lgb.Booster | None = field(default=None, repr=False)
    feature_names: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    best_ndcg: float = float("nan")
    best_iteration: int = 0
    trials: list[dict[str, Any]] = field(default_factory=list)

    def fit(
        self, train: RankingFrame, valid: RankingFrame, *, n_trials: int = 5, seed: int = 0
    ) -> LambdaRanker:
        """Tune on ``valid`` NDCG@10 over ``n_trials`` Optuna trials; keep the best model.

        ``valid`` should hold only queries with at least one positive (see
        :func:`~vitrina.core.ranking.training_set.build_ranking_frame`): LightGBM counts a query
        without positives as NDCG 1, which would flatten the differences between trials.
        """
        if n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {n_trials}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        names = _check_features(train.features, "train")
        if list(valid.features.columns) != names:
            raise ValueError("train and valid must have the same feature columns, in the same order")
        _check_features(valid.features, "valid")
        for label, frame in (("train", train), ("valid", valid)):
            if len(frame) == 0 or not (frame.labels > 0).any():
                raise ValueError(f"{label} frame has no positive label: nothing to learn or measure")
        top_label = int(max(train.labels.max(), valid.labels.max()))
        pointwise = self.objective == "binary"
        base = {
            "objective": self.objective,
            "metric": "binary_logloss" if pointwise else "ndcg",
            "eval_at": [EVAL_AT],
            "label_gain": [float(2**g - 1) for g in range(top_label + 1)],
            "bagging_freq": 1,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.num_threads,
            "seed": seed,
            "verbosity": -1,
        }
        # feature_pre_filter off: trials change min_data_in_leaf on one shared (binned) dataset.
        dataset_params = {"feature_pre_filter": False, "verbosity": -1}
        # Graded labels for both objectives: "binary" reads label > 0 as a positive, and the
        # NDCG@10 of early stopping needs the grades.
        train_set = lgb.Dataset(
            train.features,
            train.labels,
            group=train.group_sizes,
            weight=train.weights,
            params=dataset_params,
            free_raw_data=False,
        )
        valid_set = lgb.Dataset(
            valid.features,
            valid.labels,
            group=valid.group_sizes,
            weight=valid.weights,
            params=dataset_params,
            reference=train_set,
            free_raw_data=False,
        )
        best: dict[str, Any] = {"selection": -np.inf}
        trials: list[dict[str, Any]] = []

        def objective(trial: optuna.Trial) -> float:
            params = {**base, **_suggest(trial)}
            booster = lgb.train(
                params,
                train_set,
                num_boost_round=self.max_rounds,
                valid_sets=[valid_set],
                valid_names=["valid"],
                callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
            )
            iteration = int(booster.best_iteration) or booster.current_iteration()
            per_query = frame_ndcg_per_query(valid, booster.predict(valid.features, num_iteration=iteration))
            score = mean_over_queries(per_query)
            record = {
                "number": trial.number,
                METRIC: score,
                "best_iteration": iteration,
                "params": trial.params,
            }
            selection = score
            if pointwise:  # see the module docstring: the loss, not a noisy NDCG, picks the trial
                loss = float(booster.best_score["valid"]["binary_logloss"])
                record["valid_logloss"] = loss
                selection = -loss
            trials.append(record)
            logger.info("ranker trial %d: %s %.4f at %d rounds", trial.number, METRIC, score, iteration)
            outcome = {
                "score": score,
                "iteration": iteration,
                "params": params,
                "booster": booster,
                "per_query": per_query,
                "number": trial.number,
            }
            if trial.number == 0:
                default.update(outcome)
            if selection > best["selection"]:
                best.update(outcome, selection=selection)
            return selection

        default: dict[str, Any] = {}
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
        study.enqueue_trial(DEFAULT_PARAMS)
        study.optimize(objective, n_trials=n_trials)
        if not pointwise and best["number"] != 0:
            # Only a trial better than the default beyond noise replaces it (module docstring).
            p = p_better(best["per_query"], default["per_query"])
            trials[best["number"]]["p_better_than_default"] = p
            if p >= LEVEL:
                best = default
        # Keep only the trees up to the best iteration, so the saved model is what was measured.
        self.booster = lgb.Booster(model_str=best["booster"].model_to_string(num_iteration=best["iteration"]))
        self.feature_names = names
        self.params = best["params"]
        self.best_ndcg = float(best["score"])
        self.best_iteration = int(best["iteration"])
        self.trials = trials
        return self

    def predict(self, features: pd.DataFrame, num_threads: int | None = None) -> FloatArray:
        """Score rows (higher = better); columns are matched by name, extra ones ignored.
        ``num_threads`` overrides the training setting (batch inference may use every core)."""
        booster = self._fitted()
        missing = [name for name in self.feature_names if name not in features.columns]
        if missing:
            raise ValueError(f"features lack columns the ranker was trained on: {missing}")
        if len(features) == 0:
            return np.zeros(0, dtype=np.float64)
        threads = self.num_threads if num_threads is None else num_threads
        matrix = _model_input(features, self.feature_names)
        return np.asarray(booster.predict(matrix, num_threads=threads), dtype=np.float64)

    def feature_importance(self) -> pd.Series:
        """Total split gain of each feature, largest first (why the model ranks as it does)."""
        booster = self._fitted()
        gain = booster.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.feature_names, name="gain").sort_values(ascending=False)

    def save(self, path: str) -> str:
        """Write ``model.txt`` and ``ranker.json`` under the folder (path or URL) ``path``.

        The JSON follows the model, and the folder's manifest (:mod:`vitrina.core.artifacts.manifest`)
        comes last: only a folder whose manifest matches its files is loaded.
        """
        booster = self._fitted()
        root = str(path).rstrip("/")
        manifest.discard(root)  # a folder being rewritten is unloadable until sealed again
        write_text_atomic(booster.model_to_string(), f"{root}/{MODEL_FILE}")
        meta = {
            "name": self.name,
            "objective": self.objective,
            "feature_names": self.feature_names,
            "params": self.params,
            "best_ndcg@10": self.best_ndcg,
            "best_iteration": self.best_iteration,
            "trials": self.trials,
            "importance_gain": {k: float(v) for k, v in self.feature_importance().items()},
            "max_rounds": self.max_rounds,
            "early_stopping_rounds": self.early_stopping_rounds,
            "lightgbm_version": lgb.__version__,
        }
        write_json_atomic(meta, f"{root}/{META_FILE}")
        manifest.seal(root)
        return root

    @classmethod
    def load(cls, path: str, *, num_threads: int = 0) -> LambdaRanker:
        """Read a ranker written by :meth:`save`, after its manifest is verified: LightGBM
        aborts the process on a malformed model file, so it never sees an unverified one
        (:class:`~vitrina.core.artifacts.manifest.ArtifactRejectedError` instead)."""
        root = str(path).rstrip("/")
        manifest.verify(root)
        meta = read_json(f"{root}/{META_FILE}")
        if meta is None:
            raise FileNotFoundError(
                f"no {META_FILE} under {root}: not a saved ranker (or an unfinished save)"
            )
        fs, model_path = filesystem(f"{root}/{MODEL_FILE}")
        with fs.open(model_path, "r") as handle:
            booster = lgb.Booster(model_str=handle.read())
        if booster.feature_name() != meta["feature_names"]:
            raise ValueError(f"{MODEL_FILE} and {META_FILE} under {root} disagree on feature names")
        # No booster.reset_parameter here: on a booster built from a model string it
        # segfaults in LightGBM 4.7 (config_ is unset, LightGBM #3317); predict() passes
        # num_threads on every call instead.
        return cls(
            max_rounds=int(meta["max_rounds"]),
            early_stopping_rounds=int(meta["early_stopping_rounds"]),
            num_threads=num_threads,
            objective=str(meta.get("objective", "lambdarank")),
            name=str(meta["name"]),
            booster=booster,
            feature_names=list(meta["feature_names"]),
            params=dict(meta["params"]),
            best_ndcg=float(meta["best_ndcg@10"]),
            best_iteration=int(meta["best_iteration"]),
            trials=list(meta["trials"]),
        )

    def _fitted(self) -> lgb.Booster:
        if self.booster is None:
            raise RuntimeError("the ranker is not fitted: call fit() or load() first")
        return self.booster


def frame_ndcg(frame: RankingFrame, scores: npt.ArrayLike, k: int = EVAL_AT) -> float:
    """Mean NDCG@k over the frame's queries when each is ordered by ``scores`` (ties keep row
    order), with the frame's labels as gains; queries without positives are left out.

    Computed with :mod:`vitrina.core.metrics`, so it compares any ordering (the retrieval order,
    the ranker's) on the same footing as the offline report.
    """
    return mean_over_queries(frame_ndcg_per_query(frame, scores, k))


def frame_ndcg_per_query(frame: RankingFrame, scores: npt.ArrayLike, k: int = EVAL_AT) -> FloatArray:
    """NDCG@k of each of the frame's queries (:func:`frame_ndcg`; NaN for a query without
    positives), in query order: what a paired comparison of two orderings reads."""
    score = np.asarray(scores, dtype=np.float64)
    if score.shape != (len(frame),):
        raise ValueError(f"scores {score.shape} must have one entry per row ({len(frame)})")
    sizes = frame.group_sizes
    if sizes.size == 0:
        return np.zeros(0)
    query = np.repeat(np.arange(sizes.size), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    order = np.lexsort((np.arange(len(frame)), -score, query))
    rank = np.arange(len(frame)) - starts[query[order]]
    ranked = np.full((sizes.size, int(sizes.max())), PAD, dtype=np.int64)
    ranked[query[order], rank] = frame.items[order]
    truth = Truth.from_pairs(query, frame.items, frame.labels, n_queries=sizes.size, duplicates="max")
    return np.asarray(ndcg(judge(ranked, truth), k), dtype=np.float64)


def _model_input(features: pd.DataFrame, names: list[str]) -> pd.DataFrame | npt.NDArray[np.floating[Any]]:
    """The columns ``names`` as one contiguous numeric matrix, in the dtype LightGBM would pick
    for the frame (float32 when every column is float32, else float64), so predictions are
    identical; skipping LightGBM's per-call pandas handling saves ~0.5 ms per search query and
    a copy of the whole frame in batch inference. Frames with category columns go as they are."""
    frame = features if list(features.columns) == names else features[names]
    dtypes = set(frame.dtypes.tolist())
    if any(isinstance(d, pd.CategoricalDtype) for d in dtypes):
        return frame
    dtype = np.float32 if dtypes == {np.dtype(np.float32)} else np.float64
    return frame.to_numpy(dtype=dtype, na_value=np.nan)


def _suggest(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "num_leaves": trial.suggest_int("num_leaves", 15, 127, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 10, 200, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
    }


def _check_features(features: pd.DataFrame, label: str) -> list[str]:
    """Column names, after checking LightGBM can read every column as is."""
    bad = [
        str(name)
        for name, dtype in features.dtypes.items()
        if not (
            pd.api.types.is_numeric_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
        )
    ]
    if bad:
        raise ValueError(f"{label} features must be numeric, boolean or category; not: {bad}")
    names = [str(name) for name in features.columns]
    if len(set(names)) != len(names):
        raise ValueError(f"{label} features have repeated column names")
    return names
