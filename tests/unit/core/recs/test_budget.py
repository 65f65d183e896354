"""Compute budgets: seeded samples with a fixed cap, the two-tower model's draws per epoch and
early-stopping users, item2vec's sessions, and the sparse-to-dense gradients Adam reads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.recs_handmade import handmade

from vitrina.core.recs.budget import epoch_draws, seeded_sample
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.item2vec import Item2Vec, Item2VecConfig, session_sequences
from vitrina.core.recs.two_tower.config import TwoTowerConfig
from vitrina.core.recs.two_tower.dense_gradients import DenseGradients
from vitrina.core.recs.two_tower.model import TwoTower

pytestmark = pytest.mark.unit


def test_a_sample_below_its_cap_is_everything_and_above_it_a_seeded_subset() -> None:
    values = np.arange(10, 110, dtype=np.int64)
    assert seeded_sample(values, None, 0) is values
    assert seeded_sample(values, 100, 0) is values
    picked = seeded_sample(values, 30, 7)
    assert picked.size == 30
    assert np.unique(picked).size == 30
    assert np.isin(picked, values).all()
    assert np.all(np.diff(picked) > 0)  # in the given (sorted) order
    assert np.array_equal(picked, seeded_sample(values, 30, 7))  # the same seed, the same sample
    assert not np.array_equal(picked, seeded_sample(values, 30, 8))


def test_an_epoch_draws_every_pair_up_to_the_cap() -> None:
    assert epoch_draws(1_000, None) == 1_000
    assert epoch_draws(1_000, 5_000) == 1_000
    assert epoch_draws(1_000, 400) == 400


def test_densified_sparse_gradients_give_adam_the_dense_update() -> None:
    torch.manual_seed(0)
    dense = torch.nn.Embedding(50, 4)
    sparse = torch.nn.Embedding(50, 4, sparse=True)
    sparse.weight.data.copy_(dense.weight.data)
    plain = torch.optim.Adam(dense.parameters(), lr=0.01)
    fused = torch.optim.Adam(sparse.parameters(), lr=0.01, fused=True)
    gradients = DenseGradients([sparse.weight])
    rng = np.random.default_rng(0)
    for _ in range(6):
        rows = torch.from_numpy(rng.integers(0, 50, size=12))  # repeats included
        target = torch.from_numpy(rng.normal(size=(12, 4))).float()
        for table, optimizer in ((dense, plain), (sparse, fused)):
            optimizer.zero_grad()
            ((table(rows) - target) ** 2).sum().backward()  # type: ignore[no-untyped-call]
            if table is sparse:
                assert sparse.weight.grad is not None
                assert sparse.weight.grad.is_sparse
                gradients.densify()
            optimizer.step()
        gradients.clear()
        # rows untouched by this batch still move (Adam's momentum), as with dense gradients
        assert torch.allclose(dense.weight, sparse.weight, atol=1e-6)
    assert not gradients._buffers[0][1].any()  # cleared after every step


def _sessions() -> RecsData:
    rng = np.random.default_rng(0)
    events = []
    for user in range(24):
        for day in range(8):
            for offset, item in enumerate(rng.choice(12, size=3, replace=False)):
                events.append((f"u{user}", f"p{item}", "click", day + 0.01 * offset))
        events.append((f"u{user}", f"p{rng.integers(12)}", "click", 10.5))  # valid
    events.append(("u0", "p0", "click", 12.5))  # the test part must not be empty
    return handmade(events, n_items=12, n_users=24)


def test_item2vec_trains_on_a_seeded_sample_of_sessions_and_says_so() -> None:
    data = _sessions()
    history = data.part("train")
    sessions = len(session_sequences(history.positives()))
    capped = Item2VecConfig(dim=4, epochs=2, max_sessions=10, seed=3)
    model = Item2Vec(capped).fit(data, history)
    assert model.budget == {"sessions": sessions, "sessions_trained": 10}
    again = Item2Vec(capped).fit(data, history)
    assert np.array_equal(model.item_vectors, again.item_vectors)
    whole = Item2Vec(Item2VecConfig(dim=4, epochs=2, max_sessions=None)).fit(data, history)
    assert whole.budget == {"sessions": sessions, "sessions_trained": sessions}


def test_two_tower_draws_the_capped_pairs_and_early_stops_on_a_user_sample() -> None:
    data = _sessions()
    config = TwoTowerConfig(
        id_dim=4, feature_dim=2, hidden=8, out_dim=4, batch_size=16, epochs=2, max_pairs_per_epoch=40,
        max_valid_users=5,
    )  # fmt: skip
    model = TwoTower(config).fit(data, data.part("train"))
    budget = model.budget
    assert budget["pairs"] > 40
    assert budget["pairs_per_epoch"] == 40
    assert budget["valid_users"] > 5
    assert budget["valid_users_scored"] == 5
    uncapped = TwoTowerConfig(**{**config.__dict__, "max_pairs_per_epoch": None, "max_valid_users": None})
    whole = TwoTower(uncapped).fit(data, data.part("train")).budget
    assert whole["pairs_per_epoch"] == whole["pairs"] == budget["pairs"]
    assert whole["valid_users_scored"] == whole["valid_users"] == budget["valid_users"]
