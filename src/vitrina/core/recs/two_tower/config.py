"""Settings of the two-tower model and the log of its training epochs (saved with the model).

What each setting does is explained where it acts: dropouts, hard negatives and the compute
budget in :mod:`~vitrina.core.recs.two_tower.model`, the towers' shape in
:mod:`~vitrina.core.recs.two_tower.network`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TwoTowerConfig:
    bag_len: int = 20
    id_dim: int = 32
    feature_dim: int = 8
    hidden: int = 128
    out_dim: int = 64
    temperature: float = 0.05
    batch_size: int = 512
    lr: float = 3e-3
    weight_decay: float = 0.0
    epochs: int = 15
    patience: int = 2
    user_id_dropout: float = 0.5  # share of user ids replaced by the unknown id while training
    item_id_dropout: float = 0.05  # the same for items (an item's id carries its popularity)
    bag_dropout: float = 0.2  # share of rows trained with an empty bag (users with no history)
    hard_negatives: int = 0
    hard_pool: int = 100
    hard_from_epoch: int = 1
    log_q: bool = True
    eval_k: int = 100
    # Candidates keep what the user already chose: re-engagement is a large share of the
    # held-out positives, and the re-ranking filters decide what may be shown again.
    exclude_seen: bool = False
    # Compute budget (see the module docstring): pairs drawn per epoch and validation users
    # scored after each epoch; None draws every pair / scores every user.
    max_pairs_per_epoch: int | None = 250_000
    max_valid_users: int | None = 10_000
    seed: int = 0
    threads: int = 1


@dataclass
class EpochLog:
    epoch: int
    loss: float
    recall: float
    seconds: float
