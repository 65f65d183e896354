"""Retrieval quality: Recall@k of a candidate generator against held-out positives.

A retrieval stage only has to get the relevant items *into* the candidate set the ranker
reorders, so its metric is Recall@100 (docs/spec.md §3.3): the share of a user's held-out positives
(clicks, add-to-carts, purchases of one part of the temporal split) found in their top 100.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vitrina.core.metrics import Truth, judge, mean_over_queries, recall
from vitrina.core.ranking.interactions import EVENT_GAIN, IntArray, Interactions
from vitrina.core.recs.budget import seeded_sample
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.recommender import Recommender


@dataclass(frozen=True)
class HeldOut:
    """Users with held-out positives (sorted user indices) and their graded truth, row-aligned."""

    users: IntArray
    truth: Truth


def held_out(positives: Interactions, only_users: npt.NDArray[np.bool_] | None = None) -> HeldOut:
    """Truth from positive interactions: per user, each item once with its best ``EVENT_GAIN``.

    ``only_users`` (bool over all user indices) keeps only those users, e.g. the ones seen in
    training when a model cannot represent anyone else.
    """
    events = positives.positives()
    if only_users is not None:
        events = events.take(only_users[events.user])
    users = np.unique(events.user)
    rows = np.searchsorted(users, events.user)
    truth = Truth.from_pairs(
        rows, events.item, EVENT_GAIN[events.event], n_queries=len(users), duplicates="max"
    )
    return HeldOut(users=users, truth=truth)


def later_positives(
    data: RecsData, history: Interactions, max_users: int | None, seed: int
) -> tuple[int, HeldOut]:
    """The positives of ``data``'s valid part that come after ``history``, of users present in
    it (how a model trained on ``history`` is validated while it trains), for at most
    ``max_users`` users (a seeded sample); with the number of such users before the sample."""
    last = int(history.ts_us.max()) if len(history) else -1
    valid = data.part("valid")
    valid = valid.take(valid.ts_us > last)
    in_history = np.zeros(len(data.users), dtype=bool)
    in_history[history.positives().user] = True
    everyone = held_out(valid, only_users=in_history)
    kept = seeded_sample(everyone.users, max_users, seed)
    if kept.size == everyone.users.size:
        return int(everyone.users.size), everyone
    only = np.zeros(len(data.users), dtype=bool)
    only[kept] = True
    return int(everyone.users.size), held_out(valid, only_users=only)


def recall_at_k(ranked: IntArray, truth: Truth, k: int) -> float:
    """Mean Recall@k over the rows of ``ranked`` ``(n, >= k)`` that have relevant items."""
    return mean_over_queries(recall(judge(ranked[:, :k], truth), k))


def retrieval_recall(
    model: Recommender,
    data: RecsData,
    part: str = "test",
    k: int = 100,
    exclude: npt.NDArray[np.bool_] | None = None,
) -> float:
    """Recall@k of ``model`` over the users with positives in ``data.part(part)``.

    The model is asked as it stands (fitted on whatever history the caller chose, normally
    everything before ``part``); ``exclude`` is passed to ``recommend`` unchanged.
    """
    target = held_out(data.part(part))
    if len(target.users) == 0:
        return float("nan")
    ranked, _ = model.recommend(target.users, k, exclude)
    return recall_at_k(ranked, target.truth, k)
