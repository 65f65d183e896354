"""Top-k metrics of ranked lists against sets of relevant items (binary gains).

Kept here, beside the baselines, so the real-data benchmark is a yardstick independent of the
code it measures: NDCG@k with gain 1 per relevant item and the ideal DCG of
``min(|relevant|, k)`` hits; Recall@k = hits / |relevant|; HR@k = at least one hit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def ndcg_at(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """Normalised discounted cumulative gain of the first ``k`` of ``ranked``."""
    dcg = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """Share of the relevant items found in the first ``k``."""
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def hit_at(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """1 when one of the first ``k`` is relevant."""
    return 1.0 if set(ranked[:k]) & relevant else 0.0


def score_lists(
    lists: Mapping[str, Sequence[str]], relevant: Mapping[str, frozenset[str]], users: Sequence[str]
) -> dict[str, float]:
    """Mean NDCG@10, Recall@20 and HR@10 over ``users`` (each must have a list)."""
    if not users:
        return {"ndcg@10": math.nan, "recall@20": math.nan, "hr@10": math.nan, "users": 0}
    n = len(users)
    return {
        "ndcg@10": sum(ndcg_at(lists[u], relevant[u], 10) for u in users) / n,
        "recall@20": sum(recall_at(lists[u], relevant[u], 20) for u in users) / n,
        "hr@10": sum(hit_at(lists[u], relevant[u], 10) for u in users) / n,
        "users": n,
    }


def ndcg_per_user(
    lists: Mapping[str, Sequence[str]], relevant: Mapping[str, frozenset[str]], users: Sequence[str]
) -> np.ndarray:
    """NDCG@10 of each of ``users``, in their order."""
    return np.array([ndcg_at(lists[u], relevant[u], 10) for u in users])


def paired_difference(a: np.ndarray, b: np.ndarray, resamples: int = 2000, seed: int = 0) -> list[float]:
    """Mean of ``a − b`` over the same users and its 95 % bootstrap interval (users resampled)."""
    if a.size == 0:
        return [math.nan, math.nan, math.nan]
    difference = a - b
    rng = np.random.default_rng(seed)
    means = difference[rng.integers(0, difference.size, (resamples, difference.size))].mean(axis=1)
    return [float(difference.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]
