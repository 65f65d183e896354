"""What a shop's customers buy again, and after how long: learnt from its own history.

A purchase *occasion* is one (user, item, day): the click, cart and purchase of one visit, or two
lines of one order, are one occasion. Per item:

* **repurchase rate** — the share of the item's buyers with at least two occasions;
* **cycle** — the median number of days between a buyer's consecutive occasions of the item.

Sparse items borrow from their category, categories from their parent, the top level from the
whole shop (the catalog's ``category_l1`` → ``category_l2`` → ``category_l3`` path), each by
additive smoothing with a pseudo-count: ``rate = (repeaters + m · parent) / (buyers + m)``, and
for cycles the same weighting of log-medians by the number of observed gaps. An item with ``m``
buyers is half its own evidence and half its category's; a best-seller is all its own. The shop
level counts one more buyer who never came back (``repeaters / (buyers + 1)``): a shop with
little history is not taken for one where everything is bought again.

Which events are purchases: ``purchase`` events when the history holds any, else every positive
(a log of ratings or clicks only, where "chose again" is the closest thing to "bought again").

Rates are conservative for items first bought shortly before the cutoff (their buyers had little
time to come back); the rule that uses them compares items of one history, all measured alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.interactions import EVENT_CODE, FloatArray, IntArray, Interactions

DAY_US = 86_400_000_000
CATEGORY_LEVELS = ("category_l1", "category_l2", "category_l3")
RATE_PRIOR = 10.0
"""Pseudo-buyers of the parent's rate in an item's or category's rate."""
CYCLE_PRIOR = 5.0
"""Pseudo-gaps of the parent's cycle in an item's or category's cycle."""
REPEATABLE_RATE = 0.1
"""Repurchase rate from which a bought product may be recommended again: one buyer in ten buys
it on another day. Measured: a gift wholesaler (online-retail) has a median item rate of 0.16 and
83 % of its items, holding 98 % of its repeat purchases, at or above 0.1; a marketplace of
durables (olist) has 90 % of its items under 0.003 and none above 0.05; a ratings log
(movielens) has no repeat at all. 0.1 separates the two kinds by a factor of two either way."""
NO_REPEAT_CYCLE_DAYS = 30.0
"""Cycle assumed when the history holds no repeat at all (rates are then near zero anyway)."""


@dataclass(frozen=True)
class Occasions:
    """Each user's purchase occasions of each item, one row per (user, item): sorted by user then
    item, with the number of occasions, the first and the last (epoch µs)."""

    user: IntArray
    item: IntArray
    count: IntArray
    first_us: IntArray
    last_us: IntArray
    gaps_days: FloatArray  # every gap between consecutive occasions of one (user, item)
    gap_item: IntArray  # the item of each gap

    @classmethod
    def of(cls, history: Interactions) -> Occasions:
        bought = purchases(history)
        day = bought.ts_us // DAY_US
        # one row per (user, item, day), earliest instant kept; then grouped per (user, item)
        order = np.lexsort((bought.ts_us, day, bought.item, bought.user))
        user, item, ts, day = bought.user[order], bought.item[order], bought.ts_us[order], day[order]
        new = np.ones(user.size, dtype=bool)
        new[1:] = (user[1:] != user[:-1]) | (item[1:] != item[:-1]) | (day[1:] != day[:-1])
        user, item, ts = user[new], item[new], ts[new]
        start = np.ones(user.size, dtype=bool)
        start[1:] = (user[1:] != user[:-1]) | (item[1:] != item[:-1])
        starts = np.flatnonzero(start)
        ends = np.append(starts[1:], user.size) - 1
        gap = ~start[1:]
        return cls(
            user=user[starts],
            item=item[starts],
            count=(ends - starts + 1).astype(np.int64),
            first_us=ts[starts],
            last_us=ts[ends],
            gaps_days=(np.diff(ts)[gap] / DAY_US).astype(np.float64),
            gap_item=item[1:][gap],
        )

    def __len__(self) -> int:
        return int(self.user.size)


def purchases(history: Interactions) -> Interactions:
    """The events that count as buying: purchases, or every positive when none is logged."""
    bought = history.event == EVENT_CODE["purchase"]
    if bought.any():
        return history.take(bought)
    return history.positives()


@dataclass(frozen=True)
class RepurchaseStats:
    """Per item: smoothed repurchase rate and cycle (days), and the raw counts behind them.

    ``category_rate`` is the rate of the item's deepest category (already smoothed towards its
    parents): what the item's rate falls back to without buyers of its own.
    """

    rate: FloatArray
    cycle_days: FloatArray
    category_rate: FloatArray
    buyers: IntArray
    repeaters: IntArray
    gaps: IntArray
    shop_rate: float
    shop_cycle_days: float

    @classmethod
    def learn(
        cls,
        history: Interactions,
        catalog: pd.DataFrame,
        *,
        rate_prior: float = RATE_PRIOR,
        cycle_prior: float = CYCLE_PRIOR,
        occasions: Occasions | None = None,
    ) -> RepurchaseStats:
        """Statistics of ``history`` for the items of ``catalog`` (row ``i`` = item ``i``)."""
        if rate_prior < 0 or cycle_prior < 0:
            raise ValueError("rate_prior and cycle_prior must be >= 0")
        occ = occasions if occasions is not None else Occasions.of(history)
        n_items = len(catalog)
        buyers = np.bincount(occ.item, minlength=n_items).astype(np.int64)
        repeaters = np.bincount(occ.item[occ.count >= 2], minlength=n_items).astype(np.int64)
        gaps = np.bincount(occ.gap_item, minlength=n_items).astype(np.int64)
        log_gap = np.log(np.maximum(occ.gaps_days, 1e-3))
        item_log_median = _group_median(occ.gap_item, log_gap, n_items)

        shop_rate = float(repeaters.sum() / (buyers.sum() + 1.0))
        shop_log_cycle = float(np.median(log_gap)) if log_gap.size else float(np.log(NO_REPEAT_CYCLE_DAYS))
        rate = np.full(n_items, shop_rate)
        log_cycle = np.full(n_items, shop_log_cycle)
        for codes in category_paths(catalog, CATEGORY_LEVELS):
            n_groups = int(codes.max(initial=-1)) + 1
            group_buyers = np.bincount(codes, weights=buyers, minlength=n_groups).astype(np.float64)
            group_repeaters = np.bincount(codes, weights=repeaters, minlength=n_groups).astype(np.float64)
            rate = _smooth(group_repeaters[codes], group_buyers[codes], rate, rate_prior)
            group_gaps = np.bincount(codes[occ.gap_item], minlength=n_groups).astype(np.float64)
            group_median = _group_median(codes[occ.gap_item], log_gap, n_groups)
            log_cycle = _blend_log(group_median[codes], group_gaps[codes], log_cycle, cycle_prior)
        category_rate = rate
        item_rate = _smooth(repeaters.astype(np.float64), buyers.astype(np.float64), rate, rate_prior)
        item_log_cycle = _blend_log(item_log_median, gaps.astype(np.float64), log_cycle, cycle_prior)
        return cls(
            rate=np.asarray(item_rate, dtype=np.float64),
            cycle_days=np.exp(item_log_cycle),
            category_rate=np.asarray(category_rate, dtype=np.float64),
            buyers=buyers,
            repeaters=repeaters,
            gaps=gaps,
            shop_rate=shop_rate,
            shop_cycle_days=float(np.exp(shop_log_cycle)),
        )

    def arrays(self) -> dict[str, npt.NDArray[np.float64] | IntArray]:
        """The per-item arrays by name (to save with a model)."""
        return {
            "rate": self.rate,
            "cycle_days": self.cycle_days,
            "category_rate": self.category_rate,
            "buyers": self.buyers,
            "repeaters": self.repeaters,
            "gaps": self.gaps,
        }

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, npt.NDArray[np.float64] | IntArray], shop: dict[str, float]
    ) -> RepurchaseStats:
        return cls(
            rate=np.asarray(arrays["rate"], np.float64),
            cycle_days=np.asarray(arrays["cycle_days"], np.float64),
            category_rate=np.asarray(arrays["category_rate"], np.float64),
            buyers=np.asarray(arrays["buyers"], np.int64),
            repeaters=np.asarray(arrays["repeaters"], np.int64),
            gaps=np.asarray(arrays["gaps"], np.int64),
            shop_rate=float(shop["shop_rate"]),
            shop_cycle_days=float(shop["shop_cycle_days"]),
        )


def category_paths(catalog: pd.DataFrame, levels: Sequence[str]) -> list[IntArray]:
    """Group codes per item for each level, coarsest first; a group is the whole path down to
    that level (so "Accessories" under two parents are two groups). Missing levels are skipped;
    a missing value is a value of its own ("" under its parent)."""
    present = [level for level in levels if level in catalog.columns]
    paths: list[IntArray] = []
    path = pd.Series([""] * len(catalog), index=catalog.index, dtype=object)
    for level in present:
        path = path + "\x1f" + catalog[level].fillna("").astype(str)
        paths.append(np.asarray(pd.factorize(path)[0], dtype=np.int64))
    return paths


def _group_median(groups: IntArray, values: FloatArray, n_groups: int) -> FloatArray:
    """Median of ``values`` per group (NaN for empty groups), with one sort."""
    out = np.full(n_groups, np.nan)
    if values.size == 0:
        return out
    order = np.lexsort((values, groups))
    groups, values = groups[order], values[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = (values[lo] + values[hi]) / 2.0
    return out


def _smooth(hits: FloatArray, trials: FloatArray, parent: FloatArray, prior: float) -> FloatArray:
    """``(hits + prior · parent) / (trials + prior)``; the parent where there is no evidence."""
    den = trials + prior
    safe = np.where(den > 0, den, 1.0)
    return np.asarray(np.where(den > 0, (hits + prior * parent) / safe, parent), dtype=np.float64)


def _blend_log(own: FloatArray, n_own: FloatArray, parent: FloatArray, prior: float) -> FloatArray:
    """``(n · own + prior · parent) / (n + prior)``, the parent alone where there is no evidence."""
    own = np.where(n_own > 0, own, 0.0)
    return _smooth(n_own * own, n_own, parent, prior)
