"""Item-kNN: neighbours come from users who chose both items, are symmetric where both sides keep
them, and a user's list is the neighbours of what they chose recently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from support.recs_handmade import Event, handmade

from vitrina.core.ranking.interactions import Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.item_knn import ItemKNN, cosine_neighbours, user_item_matrix

pytestmark = pytest.mark.unit

# p0 and p1 are bought together by u0..u3; p2 and p3 by u4, u5; u6 bought p0 only, u7 p2 only
TOGETHER: list[Event] = [
    *[(f"u{u}", p, "purchase", 1.0 + u) for u in range(4) for p in ("p0", "p1")],
    *[(f"u{u}", p, "purchase", 1.0 + u) for u in (4, 5) for p in ("p2", "p3")],
    ("u6", "p0", "purchase", 8.0),
    ("u7", "p2", "purchase", 8.0),
]


def test_users_who_chose_both_items_make_them_neighbours() -> None:
    data = handmade(TOGETHER, n_users=8)
    model = ItemKNN(shrink=0.0).fit(data, data.interactions)
    items, scores = model.neighbours(np.array([0, 2, 7]), m=2)
    assert items[0].tolist() == [1, PAD]
    assert scores[0, 0] == pytest.approx(4 / np.sqrt(5 * 4))
    assert items[1].tolist() == [3, PAD]
    assert items[2].tolist() == [PAD, PAD]  # nobody chose p7


def test_a_user_gets_the_neighbours_of_what_they_chose_and_not_the_item_itself() -> None:
    data = handmade(TOGETHER, n_users=9)
    model = ItemKNN().fit(data, data.interactions)
    items, scores = model.recommend(np.array([6, 7, 8]), k=2)
    assert items[0].tolist() == [1, PAD]
    assert items[1].tolist() == [3, PAD]
    assert items[2].tolist() == [PAD, PAD]  # u8 chose nothing
    assert np.isneginf(scores[2]).all()
    keep_seen = ItemKNN(exclude_seen=False).fit(data, data.interactions)
    assert 0 in keep_seen.recommend(np.array([0]), k=3)[0][0].tolist()  # p1's neighbour p0, already bought


def test_recent_choices_weigh_more() -> None:
    # u8 chose p0 long ago and p2 yesterday: p2's neighbour p3 comes first
    events = [*TOGETHER, ("u8", "p0", "purchase", 0.0), ("u8", "p2", "purchase", 9.0)]
    data = handmade(events, n_users=9)
    model = ItemKNN(half_life_days=2.0).fit(data, data.interactions)
    assert model.recommend(np.array([8]), k=2)[0][0].tolist() == [3, 1]
    blocked = np.zeros(len(data.items), dtype=bool)
    blocked[3] = True
    assert model.recommend(np.array([8]), k=2, exclude=blocked)[0][0].tolist() == [1, PAD]


def random_log(seed: int, n_users: int = 300, n_items: int = 60, per_user: int = 6) -> Interactions:
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1)
    user = np.repeat(np.arange(n_users), per_user)
    item = rng.choice(n_items, size=user.size, p=popularity / popularity.sum())
    n = user.size
    zeros = np.zeros(n, dtype=np.int64)
    return Interactions(user, item, np.full(n, 3), np.arange(n) * 1000, zeros, zeros, np.full(n, "home"))


def test_neighbours_are_symmetric_where_both_items_keep_each_other_and_blocks_do_not_change_them() -> None:
    log = random_log(seed=7)
    matrix = user_item_matrix(log, 300, 60, max_user_items=100)
    one_block = cosine_neighbours(matrix, 8, shrink=2.0)
    many_blocks = cosine_neighbours(matrix, 8, shrink=2.0, block_entries=50)
    assert (one_block != many_blocks).nnz == 0
    assert (np.diff(one_block.indptr) <= 8).all()
    assert one_block.diagonal().max() == 0
    both = one_block.multiply(one_block.T > 0)  # pairs each side keeps
    np.testing.assert_allclose(both.toarray(), both.T.toarray(), rtol=1e-6)
    # kept neighbours are the best: every dropped similarity is at most the row's smallest kept
    full = matrix.T @ matrix
    counts = np.asarray(matrix.sum(axis=0)).ravel()
    sim = full.toarray() / (np.sqrt(np.outer(counts, counts)) + 2.0)
    np.fill_diagonal(sim, 0.0)
    kept = one_block.toarray()
    for row in range(60):
        if (kept[row] > 0).any():
            assert sim[row][kept[row] == 0].max(initial=0) <= kept[row][kept[row] > 0].min() + 1e-6


def test_only_the_latest_items_of_a_heavy_user_count() -> None:
    log = random_log(seed=3, n_users=2, n_items=30, per_user=20)
    capped = user_item_matrix(log, 2, 30, max_user_items=5)
    assert (np.diff(capped.indptr) == 5).all()
    assert isinstance(capped, sp.csr_matrix)


def test_round_trip_and_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = handmade(TOGETHER, n_users=8)
    model = ItemKNN().fit(data, data.interactions)
    whole = model.recommend(np.arange(8), 3)
    monkeypatch.setattr("vitrina.core.recs.item_knn._USER_CHUNK", 3)
    for got, want in zip(model.recommend(np.arange(8), 3), whole, strict=True):
        np.testing.assert_array_equal(got, want)
    model.save(tmp_path / "knn")
    loaded = ItemKNN.load(tmp_path / "knn")
    users = np.arange(8)
    for got, want in zip(loaded.recommend(users, 3), model.recommend(users, 3), strict=True):
        np.testing.assert_array_equal(got, want)
