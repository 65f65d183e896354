"""Compute budgets of the recommendations run: seeded samples with a fixed cap.

Some steps cost in proportion to what they iterate over, with nothing gained past a size:
item2vec's epochs pass over every session, the two-tower model's early stopping and the choices
made on validation windows (and the test evaluation) average a per-user metric over users.
Past a few tens of thousands of users such a mean barely moves (per-user NDCG@10 spreads about
0.2, so the standard error of a mean over ``n`` users is about ``0.2 / sqrt(n)``: 0.002 at
10,000) while the cost keeps growing. Those steps take at most a fixed number, drawn by a
generator with a fixed seed, so the same data gives the same sample; below the cap they take
everything, exactly as without one.
"""

from __future__ import annotations

import numpy as np

from vitrina.core.ranking.interactions import IntArray


def seeded_sample(values: IntArray, cap: int | None, seed: int) -> IntArray:
    """``values`` when there are at most ``cap`` of them (or ``cap`` is None), else ``cap`` of
    them drawn without replacement by a generator seeded with ``seed``, in their given order."""
    if cap is None or values.size <= cap:
        return values
    picked = np.random.default_rng(seed).choice(values.size, size=cap, replace=False)
    return values[np.sort(picked)]


def epoch_draws(n_pairs: int, cap: int | None) -> int:
    """Pairs one training epoch draws: all of them, or ``cap`` when there are more."""
    return n_pairs if cap is None else min(n_pairs, cap)
