"""Where a candidate stands in its list (query), by each retrieval score.

A raw score (ALS dot product, two-tower cosine) means different things for different users:
a heavy user's scores run higher across the board. Its rank in the user's candidate list
and its gap to the list's best candidate are scale-free, and the ranker relies on them more
than on the raw scores (on the demo, ``als_score_rank`` carries the most split gain).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vitrina.core.ranking.interactions import FloatArray, IntArray


def rank_and_gap(query: IntArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per row: the 1-based rank of ``values`` among the rows of the same ``query`` (1 =
    highest; ties share the better rank) and ``value − the query's highest value`` (≤ 0).

    The rows of a query must be contiguous (as in :class:`~vitrina.core.ranking.training_set.
    CandidateRows` and ``RankingFrame``): each query becomes one row of a padded matrix,
    ranked with one row-wise sort. NaN values rank last and have a NaN gap.
    """
    query = np.asarray(query, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if query.shape != values.shape or query.ndim != 1:
        raise ValueError(f"query {query.shape} and values {values.shape} must be equal 1-D shapes")
    if query.size == 0:
        return np.zeros(0), np.zeros(0)
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    if np.unique(query[starts]).size != starts.size:
        raise ValueError("the rows of each query must be contiguous")
    sizes = np.diff(np.append(starts, query.size))
    row = np.repeat(np.arange(starts.size), sizes)
    column = np.arange(query.size) - starts[row]
    key = np.full((starts.size, int(sizes.max())), -np.inf)
    key[row, column] = np.where(np.isnan(values), -np.inf, values)
    order = np.argsort(-key, axis=1, kind="stable")  # best first; padding sorts with the NaNs
    ordered = np.take_along_axis(key, order, axis=1)
    position = np.arange(key.shape[1])
    with np.errstate(invalid="ignore"):  # -inf − -inf at padding: a new "tie", ranked last anyway
        step = np.diff(ordered, axis=1, prepend=np.nan)
    tie_start = np.where(step != 0, position, 0)
    rank = np.empty_like(key)
    np.put_along_axis(rank, order, np.maximum.accumulate(tie_start, axis=1) + 1.0, axis=1)
    return rank[row, column], values - ordered[row, 0]


def with_list_features(query: IntArray, features: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """``features`` plus ``<name>_rank`` and ``<name>_gap`` for each of its columns ``names``
    that is present (a model without ALS has no ``als_score``), ranked within ``query``."""
    columns: dict[str, FloatArray] = {}
    for name in (n for n in names if n in features.columns):
        columns[f"{name}_rank"], columns[f"{name}_gap"] = rank_and_gap(query, features[name].to_numpy())
    return pd.concat([features, pd.DataFrame(columns, index=features.index)], axis=1)
