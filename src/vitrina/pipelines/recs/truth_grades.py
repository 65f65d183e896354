"""The simulator's truth as graded relevance: each user's best items by true utility.

When the simulator's truth is given, the evaluation also judges every model against what each
user would truly like most at the start of the held-out part (docs/spec.md §3.8): the user's
candidate items, minus previous purchases, sorted by true utility; gains 3 / 2 / 1 for ranks
1–10 / 11–20 / 21–100 (:data:`TRUTH_TIERS`). Utility is computed for blocks of users at once,
the truth's pairwise formula regrouped into a matrix product, and checked against the formula
on a sample every time (:func:`_check_utility`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vitrina.adapters.lake.truth import Truth as SimulatorTruth
from vitrina.adapters.lake.truth import to_days
from vitrina.adapters.lake.truth_world import NOISE_SIGMA
from vitrina.core.metrics import Truth
from vitrina.core.ranking.interactions import FloatArray, IntArray
from vitrina.core.ranking.top_k import top_k_rows
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.user_items import UserItems

BoolArray = npt.NDArray[np.bool_]
TRUTH_TIERS = ((10, 3.0), (20, 2.0), (100, 1.0))  # (rank limit, gain): top-10 → 3, 11–20 → 2, …
TRUTH_BATCH = 64  # users per dense (users × items) utility block (~10 MB per block at 20k items)


def grade_by_utility(
    truth: SimulatorTruth,
    data: RecsData,
    users: IntArray,
    candidates: BoolArray,
    bought: UserItems,
    at_us: int,
) -> Truth:
    """Gains of :data:`TRUTH_TIERS` for each user's top candidate items by true utility at ``at_us``."""
    depth = TRUTH_TIERS[-1][0]
    rank_gain = np.zeros(depth)
    lower = 0
    for limit, gain in TRUTH_TIERS:
        rank_gain[lower:limit] = gain
        lower = limit
    items = np.flatnonzero(candidates)
    user_rows = truth.user_rows(data.users.ids[users])
    product_rows = truth.product_rows(data.items.ids[items])
    day = float(to_days(int(at_us), truth.start_us))
    _check_utility(truth, user_rows, product_rows, day)
    queries, graded = [], []
    for start in range(0, users.size, TRUTH_BATCH):
        block = _utility_block(truth, user_rows[start : start + TRUTH_BATCH], product_rows, day)
        row, column = bought.pairs(users[start : start + TRUTH_BATCH])
        where = np.searchsorted(items, column)
        hit = (where < items.size) & (items[np.minimum(where, items.size - 1)] == column)
        block[row[hit], where[hit]] = -np.inf
        top, _ = _top_columns(block, depth)
        queries.append(np.repeat(np.arange(start, start + block.shape[0]), top.shape[1]))
        graded.append(top.ravel())
    query = np.concatenate(queries) if queries else np.zeros(0, np.int64)
    column = np.concatenate(graded) if graded else np.zeros(0, np.int64)
    width = min(depth, items.size)
    gains = np.tile(rank_gain[:width], users.size)
    valid = column >= 0
    return Truth.from_pairs(query[valid], items[column[valid]], gains[valid], n_queries=users.size)


def _top_columns(scores: FloatArray, k: int) -> tuple[IntArray, FloatArray]:
    """Best ``min(k, m)`` columns per row, best first; ``-inf`` cells become -1."""
    return top_k_rows(scores, min(k, scores.shape[1]))


def _utility_block(
    truth: SimulatorTruth, user_rows: IntArray, product_rows: IntArray, day: float
) -> FloatArray:
    """True utility of every (user, product) pair at ``day``, shape (users, products).

    The truth's ``World.utility`` takes aligned pairs; here its terms are regrouped so the
    user × product affinity is one matrix product and per-product terms are computed once.
    :func:`_check_utility` guards that the two agree.
    """
    world = truth.world
    affinity = (
        world.user_vec[user_rows].astype(np.float64) @ world.product_vec[product_rows].astype(np.float64).T
    )
    price = world.log_price_rel[product_rows] + np.log(world.price_factor(product_rows, day))
    item_term = (
        world.quality[product_rows]
        + world.trend(world.product_l2[product_rows], day)
        + world.bump(product_rows, day)
    )
    noise = world.pair_noise(np.repeat(user_rows, product_rows.size), np.tile(product_rows, user_rows.size))
    return np.asarray(
        affinity
        + item_term[None, :]
        - world.price_sensitivity[user_rows, None] * price[None, :]
        + NOISE_SIGMA * noise.reshape(user_rows.size, product_rows.size),
        dtype=np.float64,
    )


def _check_utility(truth: SimulatorTruth, user_rows: IntArray, product_rows: IntArray, day: float) -> None:
    """Fail loudly if the regrouped utility drifts from the simulator's own formula."""
    if user_rows.size == 0 or product_rows.size == 0:
        return
    users, products = user_rows[:8], product_rows[:: max(1, product_rows.size // 64)]
    fast = _utility_block(truth, users, products, day)
    slow = truth.world.utility(np.repeat(users, products.size), np.tile(products, users.size), day)
    if not np.allclose(fast.ravel(), slow, rtol=0.0, atol=1e-6):
        raise RuntimeError("evaluation's utility block disagrees with World.utility: update _utility_block")
