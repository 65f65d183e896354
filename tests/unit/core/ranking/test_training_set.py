"""Training-set assembly labels candidates from the horizon only, joins features by index and
keeps each query's rows together."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vitrina.core.ranking.interactions import EVENT_CODE, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.ranking.training_set import (
    RETRIEVAL_SCORE,
    CandidateRows,
    RankingFrame,
    build_ranking_frame,
    concat_frames,
    horizon_labels,
    join_features,
)

pytestmark = pytest.mark.unit

CUTOFF = 1_000
HORIZON = 500


def make_events(rows: list[tuple[int, int, str, int]]) -> Interactions:
    """Interactions from (user, item, event name, ts_us) tuples."""
    rows = sorted(rows, key=lambda r: r[3])
    n = len(rows)
    return Interactions(
        user=np.array([r[0] for r in rows], dtype=np.int64),
        item=np.array([r[1] for r in rows], dtype=np.int64),
        event=np.array([EVENT_CODE[r[2]] for r in rows], dtype=np.int64),
        ts_us=np.array([r[3] for r in rows], dtype=np.int64),
        session=np.zeros(n, dtype=np.int64),
        position=np.zeros(n, dtype=np.int64),
        page=np.full(n, "recs"),
    )


USERS = np.array([4, 7, 9])
CANDIDATES = np.array([[10, 11, 12], [12, 13, PAD], [10, 13, 11]])
SCORES = np.array([[0.9, 0.5, 0.1], [0.8, 0.7, -np.inf], [0.6, 0.4, 0.2]])
EVENTS = make_events(
    [
        (4, 11, "click", 1_100),
        (4, 11, "purchase", 1_200),  # best event on an item wins: purchase 2
        (4, 12, "view", 1_050),  # shown, not chosen: 0
        (4, 10, "purchase", 900),  # before the cutoff: not a label
        (7, 13, "add_to_cart", 1_499),  # last instant of the horizon: 1
        (7, 12, "purchase", 1_500),  # horizon end is exclusive: 0
        (9, 12, "purchase", 1_300),  # bought an item that was not a candidate
        (4, 13, "click", 1_300),  # another user's candidate
    ]
)
USER_FEATURES = pd.DataFrame({"ctr": [0.1, 0.2, 0.3], "vip": [True, False, True]}, index=[4, 7, 9])
ITEM_FEATURES = pd.DataFrame(
    {"price": [10.0, 11.0, 12.0, 13.0], "cat": pd.Categorical(["a", "b", "a", "c"])}, index=[10, 11, 12, 13]
)


def test_rows_flatten_query_by_query_and_unflatten_back() -> None:
    rows = CandidateRows.from_matrix(USERS, CANDIDATES, SCORES)
    assert rows.items.tolist() == [10, 11, 12, 12, 13, 10, 13, 11]
    assert rows.users.tolist() == [4, 4, 4, 7, 7, 9, 9, 9]
    assert rows.query.tolist() == [0, 0, 0, 1, 1, 2, 2, 2]
    back = rows.unflatten(rows.retrieval_score)
    assert np.array_equal(back, SCORES)


def test_bad_candidate_matrices_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        CandidateRows.from_matrix([1], [[3, 4, 3]])
    with pytest.raises(ValueError, match="one entry per candidate row"):
        CandidateRows.from_matrix([1, 2], [[3, 4]])
    with pytest.raises(ValueError, match="must match"):
        CandidateRows.from_matrix([1], [[3, 4]], [[0.1]])


def test_labels_are_the_best_event_inside_the_horizon_only() -> None:
    rows = CandidateRows.from_matrix(USERS, CANDIDATES, SCORES)
    labels = horizon_labels(rows, EVENTS, CUTOFF, CUTOFF + HORIZON)
    expected = {(4, 10): 0, (4, 11): 2, (4, 12): 0, (7, 12): 0, (7, 13): 1, (9, 10): 0, (9, 13): 0}
    expected[(9, 11)] = 0
    pairs = zip(rows.users.tolist(), rows.items.tolist(), strict=True)
    assert dict(zip(pairs, labels.tolist(), strict=True)) == expected


def test_frame_drops_queries_without_positives_and_keeps_order() -> None:
    frame = build_ranking_frame(
        USERS,
        CANDIDATES,
        SCORES,
        EVENTS,
        CUTOFF,
        HORIZON,
        user_features=USER_FEATURES,
        item_features=ITEM_FEATURES,
    )
    assert frame.groups.tolist() == [0, 0, 0, 1, 1]  # user 9 had no positive candidate
    assert frame.group_sizes.tolist() == [3, 2]
    assert frame.labels.tolist() == [0, 2, 0, 0, 1]
    assert frame.features[RETRIEVAL_SCORE].tolist() == [0.9, 0.5, 0.1, 0.8, 0.7]
    assert frame.features["price"].tolist() == [10.0, 11.0, 12.0, 12.0, 13.0]
    assert frame.features["ctr"].tolist() == [0.1, 0.1, 0.1, 0.2, 0.2]
    kept = build_ranking_frame(
        USERS,
        CANDIDATES,
        SCORES,
        EVENTS,
        CUTOFF,
        HORIZON,
        user_features=USER_FEATURES,
        item_features=ITEM_FEATURES,
        drop_uninformative=False,
    )
    assert kept.n_groups == 3
    assert len(kept) == 8


def test_features_join_by_index_with_cross_and_missing_keys() -> None:
    rows = CandidateRows.from_matrix([4, 99], [[13, 10], [11, PAD]])  # user 99 has no features yet
    seen: list[tuple[list[int], list[int]]] = []

    def cross(users: np.ndarray, items: np.ndarray) -> pd.DataFrame:
        seen.append((users.tolist(), items.tolist()))
        return pd.DataFrame({"affinity": users * 1000.0 + items}, index=np.arange(len(users)) + 50)

    features = join_features(rows, USER_FEATURES, ITEM_FEATURES, cross)
    assert list(features.columns) == [RETRIEVAL_SCORE, "ctr", "vip", "price", "cat", "affinity"]
    assert seen == [([4, 4, 99], [13, 10, 11])]
    assert features["affinity"].tolist() == [4013.0, 4010.0, 99011.0]
    assert features["cat"].astype(str).tolist() == ["c", "a", "b"]
    assert isinstance(features["cat"].dtype, pd.CategoricalDtype)
    assert np.isnan(features["ctr"].iloc[2])
    assert features["vip"].dtype == np.float64  # a missing user must not make the column object
    assert features["vip"].iloc[:2].tolist() == [1.0, 1.0]


def test_a_column_defined_twice_is_an_error() -> None:
    rows = CandidateRows.from_matrix([4], [[10]])
    clash = pd.DataFrame({"price": [1.0]}, index=[4])
    with pytest.raises(ValueError, match="price"):
        join_features(rows, clash, ITEM_FEATURES)
    with pytest.raises(ValueError, match="rows"):
        join_features(rows, USER_FEATURES, ITEM_FEATURES, lambda u, i: pd.DataFrame({"x": [1.0, 2.0]}))


def test_concat_renumbers_queries_and_keeps_categories() -> None:
    def frame(categories: list[str], groups: list[int]) -> RankingFrame:
        n = len(groups)
        features = pd.DataFrame({"cat": pd.Categorical(categories), "x": np.arange(n, dtype=float)})
        return RankingFrame(features, np.ones(n, dtype=np.int64), np.array(groups), np.zeros(n), np.arange(n))

    first, second = frame(["a", "b", "a"], [5, 5, 8]), frame(["c", "a"], [5, 5])  # same user, later cutoff
    both = concat_frames([first, second])
    assert both.groups.tolist() == [0, 0, 1, 2, 2]
    assert isinstance(both.features["cat"].dtype, pd.CategoricalDtype)
    assert both.features["cat"].astype(str).tolist() == ["a", "b", "a", "c", "a"]


def test_frame_requires_contiguous_queries() -> None:
    features = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="contiguous"):
        RankingFrame(features, np.zeros(3), np.array([1, 2, 1]), np.zeros(3), np.arange(3))
    with pytest.raises(ValueError, match="labels"):
        RankingFrame(features, np.zeros(2), np.array([1, 1, 1]), np.zeros(3), np.arange(3))
