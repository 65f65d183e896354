"""EASE: the closed form matches its definition, recovers a planted co-occurrence, keeps only the
most chosen items, scales its default ridge with the data and weights the profile by recency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.ranking.interactions import Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease import EASE, ease_weights, recency_ranks

pytestmark = pytest.mark.unit


def test_weights_match_the_closed_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vitrina.core.recs.ease._MIRROR_BLOCK", 16)
    rng = np.random.default_rng(0)
    x = (rng.random((30, 120)) < 0.05).astype(np.float64)  # several mirroring blocks
    gram = x.T @ x
    p = np.linalg.inv(gram + 3.0 * np.eye(gram.shape[0]))
    expected = np.eye(gram.shape[0]) - p / np.diag(p)[None, :]
    got = ease_weights(gram.copy(), 3.0)
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert np.diag(got).max() == 0.0


# p0 and p1 always together (u0..u4); p2, p3 random-ish noise; u5 chose only p0
PLANTED: list[Event] = [
    *[(f"u{u}", p, "purchase", 1.0 + u) for u in range(5) for p in ("p0", "p1")],
    ("u0", "p2", "click", 2.0),
    ("u1", "p3", "click", 2.0),
    ("u2", "p2", "click", 3.0),
    ("u3", "p4", "click", 3.0),
    ("u5", "p0", "purchase", 8.0),
    ("u6", "p2", "purchase", 8.0),
]


def test_a_planted_co_occurrence_is_recovered() -> None:
    data = handmade(PLANTED, n_users=8)
    model = EASE(l2=1.0).fit(data, data.interactions)
    items, scores = model.recommend(np.array([5, 7]), k=2)
    assert items[0, 0] == 1
    assert scores[0, 0] > scores[0, 1]
    assert items[1].tolist() == [PAD, PAD]  # u7 chose nothing
    assert model.recommend(np.array([0]), k=5)[0][0].tolist()[:1] != [0]  # seen items are not returned


def test_only_the_most_chosen_items_are_modelled_and_the_default_ridge_follows_the_data() -> None:
    data = handmade(PLANTED, n_users=8)
    model = EASE(max_items=2, lambda_scale=0.5).fit(data, data.interactions)
    assert model.modelled is not None
    assert model.modelled.tolist() == [0, 1]
    assert model.l2_used == pytest.approx(0.5 * (6 + 5) / 2)  # p0 chosen by 6 users, p1 by 5
    # u6 chose only p2, which is not modelled: nothing to score from
    assert model.recommend(np.array([6]), k=2)[0][0].tolist() == [PAD, PAD]
    doubled = EASE(max_items=2, lambda_scale=0.5).fit(data, _twice(data))
    assert doubled.l2_used == pytest.approx(model.l2_used)  # binary matrix: repeats do not count


def _twice(data: RecsData) -> Interactions:
    inter = data.interactions
    return Interactions(*(np.concatenate([a, a]) for a in (inter.user, inter.item, inter.event, inter.ts_us,
                          inter.session, inter.position, inter.page)))  # fmt: skip


def test_recency_ranks_count_distinct_instants_per_user_latest_first() -> None:
    user = np.array([0, 0, 0, 1, 0, 1])
    ts = np.array([10, 30, 30, 5, 20, 7])
    assert recency_ranks(user, ts).tolist() == [2, 0, 0, 1, 1, 0]  # one basket (t=30) shares rank 0
    assert recency_ranks(np.zeros(0, np.int64), np.zeros(0, np.int64)).tolist() == []


# two pairs bought together by u0..u3: (p0, p1) and (p2, p3); u4 bought p0 long ago, p2 lately
PAIRS: list[Event] = [
    *[
        (f"u{u}", p, "purchase", 1.0 + u / 10)
        for u in range(4)
        for p in ("p0", "p1", "p2", "p3")[2 * (u % 2) :][:2]
    ],
    ("u4", "p0", "purchase", 1.0),
    ("u4", "p0", "purchase", 3.0),  # its last choice of p0 counts, not the first
    ("u4", "p2", "purchase", 6.0),
]


def test_a_decayed_profile_ranks_what_follows_the_latest_choice_first() -> None:
    data = handmade(PAIRS, n_users=5)
    binary = EASE(l2=1.0).fit(data, data.interactions)
    items, scores = binary.recommend(np.array([4]), k=2)
    assert scores[0, 0] == pytest.approx(scores[0, 1])  # p1 and p3 alike with a binary profile
    recent = EASE(l2=1.0, recency_decay=0.5).fit(data, data.interactions)
    items, scores = recent.recommend(np.array([4]), k=2)
    assert items[0].tolist() == [3, 1]  # p3 goes with p2, the latest choice
    assert recent.weights is not None
    profile = np.zeros(4)
    profile[[2, 0]] = 1.0, 0.5  # p2 the latest choice, p0 one instant further back: half the weight
    np.testing.assert_allclose(scores[0], (profile @ recent.weights)[[3, 1]], rtol=1e-6)
    recent.recency_decay = 1.0  # the decay changes only the profile scored, not B
    np.testing.assert_allclose(
        recent.recommend(np.array([4]), k=2)[1], binary.recommend(np.array([4]), k=2)[1]
    )
    with pytest.raises(ValueError, match="recency_decay"):
        EASE(recency_decay=0.0)


def test_exclusion_and_round_trip(tmp_path: Path) -> None:
    data = handmade(PLANTED, n_users=8)
    model = EASE(l2=1.0, recency_decay=0.7).fit(data, data.interactions)
    blocked = np.zeros(len(data.items), dtype=bool)
    blocked[1] = True
    assert 1 not in model.recommend(np.array([5]), k=3, exclude=blocked)[0][0].tolist()
    model.save(tmp_path / "ease")
    loaded = EASE.load(tmp_path / "ease")
    assert loaded.recency_decay == 0.7
    users = np.arange(8)
    for got, want in zip(loaded.recommend(users, 3), model.recommend(users, 3), strict=True):
        np.testing.assert_allclose(got, want)
