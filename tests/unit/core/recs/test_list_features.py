"""Rank and gap of a score within each user's candidate list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vitrina.core.recs.list_features import rank_and_gap, with_list_features

pytestmark = pytest.mark.unit


def test_rank_and_gap_per_query_with_ties_and_missing_values() -> None:
    query = np.array([3, 3, 3, 1, 1, 1])
    values = np.array([0.5, 0.9, 0.5, 2.0, np.nan, 3.0])
    rank, gap = rank_and_gap(query, values)
    assert rank.tolist() == [2.0, 1.0, 2.0, 2.0, 3.0, 1.0]  # ties share the better rank
    assert gap[[0, 1, 2, 3, 5]] == pytest.approx([-0.4, 0.0, -0.4, -1.0, 0.0])
    assert np.isnan(gap[4])


def test_agrees_with_a_pandas_group_rank_on_random_lists() -> None:
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 30, size=50)
    query = np.repeat(rng.permutation(1000)[:50], sizes)  # any ids, contiguous rows
    values = rng.integers(0, 8, size=query.size).astype(float)  # many ties
    rank, gap = rank_and_gap(query, values)
    series = pd.Series(values)
    expected_rank = series.groupby(query).rank(ascending=False, method="min").to_numpy()
    assert np.array_equal(rank, expected_rank)
    assert np.allclose(gap, values - series.groupby(query).transform("max").to_numpy())


def test_scattered_queries_and_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="contiguous"):
        rank_and_gap(np.array([0, 1, 0]), np.zeros(3))
    with pytest.raises(ValueError, match="1-D"):
        rank_and_gap(np.zeros(3, dtype=np.int64), np.zeros(2))
    assert rank_and_gap(np.zeros(0, dtype=np.int64), np.zeros(0))[0].size == 0


def test_named_columns_are_added_for_the_scores_present() -> None:
    features = pd.DataFrame({"als": [1.0, 2.0, 5.0], "tt": [0.3, 0.1, 0.2]}, index=[4, 5, 6])
    frame = with_list_features(np.array([0, 0, 1]), features, ["als", "missing", "tt"])
    assert list(frame.columns) == ["als", "tt", "als_rank", "als_gap", "tt_rank", "tt_gap"]
    assert frame["als_rank"].tolist() == [2.0, 1.0, 1.0]
    assert frame.index.tolist() == [4, 5, 6]
