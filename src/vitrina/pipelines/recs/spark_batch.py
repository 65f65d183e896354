"""Batch inference on Spark: the champion shipped to the executors, users scored in partitions.

The served model (the champion re-assembled as of the end of the data: its bundle's trained
parts with refreshed histories, features, rules, cold start) is pickled once on the driver and
broadcast; each executor's Python worker unpickles it once per batch (cached by a batch key)
and scores its share of users with ``mapInPandas``. The lists come back to the driver, which
explains, checks and writes them exactly as the in-process path does.

Equal lists, same tie-breaking: one Spark row is one *block* of users — the same blocks, in the
same order, the in-process path hands to ``recommend_with_reasons`` — so every block is scored
by the same code on the same inputs whichever executor gets it (a block's candidate depth and
padding depend on the block, not only on the user). Scores cross the wire as float64 (exact
for the models' float32 scores), reasons as strings.
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.interactions import FloatArray, IntArray
from vitrina.core.recs.policy import ServedModel

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ObjectArray = npt.NDArray[np.object_]
BoolArray = npt.NDArray[np.bool_]
SCORED_SCHEMA = "block long, row long, items array<long>, scores array<double>, reasons array<string>"
_LOADED: dict[str, tuple[ServedModel, BoolArray]] = {}
"""Per Python worker: the unpickled model and exclusion mask of the batch being scored."""


def score_users_spark(
    spark: SparkSession,
    served: ServedModel,
    users: IntArray,
    k: int,
    exclude: BoolArray,
    block_size: int,
) -> tuple[IntArray, FloatArray, ObjectArray]:
    """``served.recommend_with_reasons`` over ``users`` in blocks of ``block_size``, on the
    executors; rows in the order of ``users`` (what the in-process loop returns)."""
    if users.size == 0:
        return np.zeros((0, k), np.int64), np.zeros((0, k)), np.zeros((0, k), dtype=object)
    starts = np.arange(0, users.size, block_size)
    chunks = [users[s : s + block_size] for s in starts]
    blocks = pd.DataFrame({"block": np.arange(starts.size, dtype=np.int64), "users": chunks})
    shipped = spark.sparkContext.broadcast(pickle.dumps((served, exclude), protocol=pickle.HIGHEST_PROTOCOL))
    try:
        frame = spark.createDataFrame(blocks, schema="block long, users array<long>")
        scored = frame.repartition(int(starts.size)).mapInPandas(
            _scorer(uuid.uuid4().hex, shipped, k), schema=SCORED_SCHEMA
        )
        rows = scored.toPandas()
    finally:
        shipped.unpersist()
    rows = rows.sort_values(["block", "row"], kind="stable")
    if len(rows) != users.size:
        raise RuntimeError(f"Spark scored {len(rows)} users of {users.size}: a block was lost")
    items = np.array(rows["items"].tolist(), dtype=np.int64).reshape(users.size, -1)
    scores = np.array(rows["scores"].tolist(), dtype=np.float64).reshape(users.size, -1)
    reasons = np.array(rows["reasons"].tolist(), dtype=object).reshape(users.size, -1)
    return items, scores, reasons


def _scorer(key: str, shipped: Any, k: int) -> Any:
    """The ``mapInPandas`` function: each input row is one block of users."""

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        if key not in _LOADED:
            _LOADED.clear()  # one batch's model at a time per worker
            _LOADED[key] = pickle.loads(shipped.value)
        served, exclude = _LOADED[key]
        for batch in batches:
            for block, users in zip(batch["block"].tolist(), batch["users"].tolist(), strict=True):
                chosen = np.asarray(users, dtype=np.int64)
                items, scores, reasons = served.recommend_with_reasons(chosen, k, exclude)
                yield pd.DataFrame(
                    {
                        "block": np.full(chosen.size, block, dtype=np.int64),
                        "row": np.arange(chosen.size, dtype=np.int64),
                        "items": list(np.asarray(items, dtype=np.int64)),
                        "scores": list(np.asarray(scores, dtype=np.float64)),
                        "reasons": list(np.asarray(reasons, dtype=object).astype(str)),
                    }
                )

    return score
