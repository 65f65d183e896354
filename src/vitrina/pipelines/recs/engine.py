"""The engine switch of the recommendations batch: in-process numpy (default) or Spark.

``VITRINA_ENGINE=spark`` moves the two heavy parts of a batch onto the Spark master the
settings name (feature frames go there through :func:`vitrina.bootstrap.compute_features_configured`):

* :func:`score_users` — batch inference, the champion shipped to the executors
  (:mod:`vitrina.pipelines.recs.spark_batch`);
* :func:`accuracy_join` — the evaluation join of predicted lists with held-out positives into
  per-user metrics (:mod:`vitrina.pipelines.recs.spark_evaluation`).

Both engines score the same blocks of users with the same code, so the lists are equal, ties
included; the metrics agree to float rounding (Spark sums per-user terms in another order).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vitrina.bootstrap import spark_for
from vitrina.config import Settings
from vitrina.core.ranking.interactions import FloatArray, IntArray
from vitrina.core.recs.policy import ServedModel
from vitrina.pipelines.recs.evaluation import Accuracy

ObjectArray = npt.NDArray[np.object_]
BoolArray = npt.NDArray[np.bool_]


def score_users(
    settings: Settings, served: ServedModel, users: IntArray, k: int, exclude: BoolArray
) -> tuple[IntArray, FloatArray, ObjectArray]:
    """``served``'s TOP-``k`` with cold-start reasons for ``users`` (rows in their order), in
    blocks of ``settings.batch_block_users`` (bounds the candidate matrices' memory)."""
    block = settings.batch_block_users
    if settings.engine == "spark":
        from vitrina.pipelines.recs.spark_batch import score_users_spark

        return score_users_spark(spark_for(settings), served, users, k, exclude, block)
    if users.size == 0:
        return np.zeros((0, k), np.int64), np.zeros((0, k)), np.zeros((0, k), dtype=object)
    parts = [
        served.recommend_with_reasons(users[s : s + block], k, exclude) for s in range(0, users.size, block)
    ]
    return (
        np.vstack([p[0] for p in parts]),
        np.vstack([p[1] for p in parts]),
        np.vstack([p[2] for p in parts]),
    )


def accuracy_join(settings: Settings) -> Accuracy | None:
    """The Spark evaluation join when the engine is ``spark``; None keeps the in-process one."""
    if settings.engine != "spark":
        return None
    from vitrina.pipelines.recs.spark_evaluation import accuracy_spark

    spark = spark_for(settings)
    return lambda ranked, truth, names: accuracy_spark(spark, ranked, truth, names)
