"""Item2Vec learns session co-occurrence and serves it as a well-behaved recommender."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.recs_handmade import handmade

from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.item2vec import Item2Vec, Item2VecConfig, session_sequences

pytestmark = pytest.mark.unit

N_ITEMS = 16
CLUSTERS = (np.arange(0, 8), np.arange(8, 16))


def _sessions_within_clusters(seed: int = 0) -> RecsData:
    """Every session (one user-day) picks 4 items from one cluster; users 0-1 never act."""
    rng = np.random.default_rng(seed)
    events = []
    for user in range(2, 30):
        for day in range(10):
            cluster = CLUSTERS[(user + day) % 2]
            for offset, item in enumerate(rng.choice(cluster, size=4, replace=False)):
                events.append((f"u{user}", f"p{item}", "click", day + 0.01 * offset))
    events.append(("u2", "p0", "click", 12.5))  # the test part must not be empty
    events.append(("u2", "p1", "click", 11.0))
    return handmade(events, n_items=N_ITEMS, n_users=30)


CONFIG = Item2VecConfig(dim=8, epochs=30, sample=0.0, ns_exponent=0.75)


def test_items_of_the_same_sessions_are_closer_than_random_items() -> None:
    data = _sessions_within_clusters()
    model = Item2Vec(CONFIG).fit(data, data.part("train"))
    assert model.item_vectors.shape == (N_ITEMS, 8)
    assert model.item_vectors.dtype == np.float32
    cluster = np.array([int(pid[1:]) // 8 for pid in data.items.ids])  # indices follow sorted ids
    a, b = np.meshgrid(np.arange(N_ITEMS), np.arange(N_ITEMS), indexing="ij")
    cosine = model.similarity(a, b)
    same = cluster[a] == cluster[b]
    assert cosine[same & (a != b)].mean() > cosine[~same].mean() + 0.3
    # every item's nearest neighbour is in its own cluster
    np.fill_diagonal(cosine, -np.inf)
    assert np.all(cluster[cosine.argmax(axis=1)] == cluster)


def test_training_is_deterministic_for_a_seed() -> None:
    data = _sessions_within_clusters()
    first = Item2Vec(CONFIG).fit(data, data.part("train")).item_vectors
    second = Item2Vec(CONFIG).fit(data, data.part("train")).item_vectors
    assert np.array_equal(first, second)


def test_sessions_collapse_repeats_and_drop_single_item_sessions() -> None:
    data = handmade(
        [
            ("u0", "p1", "click", 0.1),
            ("u0", "p1", "add_to_cart", 0.2),
            ("u0", "p2", "purchase", 0.3),
            ("u1", "p3", "click", 0.4),  # a one-item session yields no pair
            ("u1", "p4", "view", 0.5),  # impressions are not choices
            ("u0", "p5", "click", 11.0),
            ("u0", "p6", "click", 12.5),
        ]
    )
    assert session_sequences(data.part("train").positives()) == [["1", "2"]]
    model = Item2Vec(Item2VecConfig(dim=4, epochs=2)).fit(data, data.part("train"))
    assert model.known.tolist() == [False, True, True] + [False] * 5
    assert not model.item_vectors[~model.known].any()


def test_recommendations_skip_seen_excluded_and_unknown_items() -> None:
    data = _sessions_within_clusters()
    model = Item2Vec(CONFIG).fit(data, data.part("train"))
    exclude = np.zeros(N_ITEMS, dtype=bool)
    exclude[[3, 12]] = True
    users = np.arange(30)
    items, scores = model.recommend(users, 10, exclude)
    assert items.shape == (30, 10)
    train = data.part("train")
    for user in users:
        returned = items[user][items[user] != PAD]
        assert not exclude[returned].any()
        assert not np.isin(returned, train.item[train.user == user]).any()
        assert np.all(np.diff(scores[user][items[user] != PAD]) <= 0)
    assert np.all(items[:2] == PAD)  # no history, no profile, nothing to recommend
    everything, _ = (
        Item2Vec(Item2VecConfig(**{**CONFIG.__dict__, "exclude_seen": False}))
        .fit(data, data.part("train"))
        .recommend(np.array([5]), N_ITEMS)
    )
    assert (everything[0] != PAD).sum() == N_ITEMS  # asked to, it returns seen items too


def test_save_then_load_gives_identical_recommendations(tmp_path: Path) -> None:
    data = _sessions_within_clusters()
    model = Item2Vec(CONFIG).fit(data, data.part("train"))
    model.save(tmp_path / "i2v")
    loaded = Item2Vec.load(tmp_path / "i2v")
    users = np.arange(30)
    a, sa = model.recommend(users, 5)
    b, sb = loaded.recommend(users, 5)
    assert np.array_equal(a, b)
    assert np.array_equal(sa, sb)
    assert np.array_equal(loaded.item_vectors, model.item_vectors)
    with pytest.raises(FileNotFoundError):
        Item2Vec.load(tmp_path / "nothing")


def test_a_shop_of_one_product_orders_teaches_nothing_and_recommends_nothing() -> None:
    # every order (session) holds one product: nothing co-occurs, so nothing is learned
    events = [
        (f"u{u}", f"p{(u * 3 + day) % 8}", "purchase", day + u / 10) for u in range(6) for day in range(14)
    ]
    data = handmade(events, n_items=8, n_users=6)
    model = Item2Vec(CONFIG).fit(data, data.part("train"))
    assert not model.learned
    assert not model.item_vectors.any()
    assert not model.user_vectors.any()
    items, scores = model.recommend(np.arange(6), 5)
    assert (items == PAD).all()
    assert np.isneginf(scores).all()
    clustered = _sessions_within_clusters()
    assert Item2Vec(CONFIG).fit(clustered, clustered.part("train")).learned


def test_trained_vectors_are_centred() -> None:
    data = _sessions_within_clusters()
    model = Item2Vec(CONFIG).fit(data, data.part("train"))
    np.testing.assert_allclose(model.item_vectors[model.known].mean(axis=0), 0.0, atol=1e-5)
    raw = Item2Vec(Item2VecConfig(dim=8, epochs=30, sample=0.0, ns_exponent=0.75, centre=False))
    raw.fit(data, data.part("train"))
    assert np.abs(raw.item_vectors[raw.known].mean(axis=0)).max() > 1e-3


def test_a_user_away_for_long_keeps_a_profile_from_their_own_last_choices() -> None:
    # u1 chose on day 0 only; the history runs to day 9: ages from the history's end would
    # weigh u1's choices 2^-9000 with a 0.001-day half-life, i.e. zero in floating point
    events = [("u1", "p0", "click", 0.0), ("u1", "p1", "click", 0.001)]
    events += [(f"u{u}", f"p{(u + d) % 4}", "click", 9.0 - d * 0.001) for u in range(2, 6) for d in range(3)]
    data = handmade(events, n_items=4, n_users=6)
    config = Item2VecConfig(dim=4, epochs=5, half_life_days=0.001)
    model = Item2Vec(config).fit(data, data.interactions)
    assert np.linalg.norm(model.user_vectors[1]) == pytest.approx(1.0, abs=1e-5)
    assert model.recommend(np.array([1]), k=1)[0][0, 0] != PAD
