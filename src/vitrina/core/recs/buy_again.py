"""Buy again: each customer's own past purchases, ranked by how likely they are to be bought next.

In a shop of consumables most revenue is repeat purchases, and the best list for a returning
customer starts with what they already buy. Not everything bought is bought again (a kettle, a
film), and what is bought again is bought on a cycle (coffee monthly, cat food weekly), so a
(user, item) pair that the user bought scores

    propensity(u, i) · (floor + (1 − floor) · due(t / cycle_i))

* ``propensity(u, i) = (n − 1 + a · rate_i) / (n − 1 + a)``: after ``n`` purchase occasions of
  the item, the chance of another — the item's learnt repurchase rate for a single purchase
  (:mod:`.repurchase`), rising towards 1 for a customer who has bought it many times (frequency);
  ``a`` (default 1) is the weight of the item's rate against the customer's own count;
* ``due(r) = exp(−½ (ln r / σ)²)``, ``r`` = days since the user's last occasion over the item's
  learnt median cycle: 1 when a cycle has just passed, half at ``r ≈ e^{±1.18σ}``, so a tin bought
  yesterday is not yet due and one bought ten cycles ago is probably no longer used (recency).
  A list is read for a while after it is made, so ``r`` is the ratio nearest to 1 over
  ``[now, now + horizon]`` (default 7 days: the week the batch lists and the held-out windows
  cover): an item due at any time of that week counts as due;
* ``floor`` (default 0.2) keeps timing from erasing a strong habit: it scales the score by at most
  1/floor, never to zero, because cycles are medians over many customers, not this one.

Only items the shop's data says are bought again are listed (repurchase rate at least
``min_rate``, the same bar as the "already bought" business rule, which would hide the others
anyway). Users without such a purchase get nothing (``PAD`` / ``-inf``), so a blend fills their
lists from another source. ``now_us`` (the last instant of the history by default) is when the lists are for;
a server may set it to the request time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import top_k_pairs
from vitrina.core.recs.artifact_files import load_artifact, save_artifact
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.repurchase import (
    CYCLE_PRIOR,
    DAY_US,
    RATE_PRIOR,
    REPEATABLE_RATE,
    Occasions,
    RepurchaseStats,
)

BoolArray = npt.NDArray[np.bool_]


class BuyAgain:
    """The user's own purchases scored by repurchase propensity and due-ness (module docstring)."""

    name = "buy_again"

    def __init__(
        self,
        *,
        personal_prior: float = 1.0,
        due_width: float = 1.0,
        due_floor: float = 0.2,
        horizon_days: float = 7.0,
        min_rate: float = REPEATABLE_RATE,
        rate_prior: float = RATE_PRIOR,
        cycle_prior: float = CYCLE_PRIOR,
    ) -> None:
        if personal_prior <= 0 or due_width <= 0 or not 0 <= due_floor <= 1 or horizon_days < 0:
            raise ValueError("personal_prior, due_width must be > 0, due_floor in [0, 1], horizon_days >= 0")
        self.horizon_days = horizon_days
        self.min_rate = min_rate
        self.personal_prior = personal_prior
        self.due_width = due_width
        self.due_floor = due_floor
        self.rate_prior = rate_prior
        self.cycle_prior = cycle_prior
        self.stats: RepurchaseStats | None = None
        self.occasions: Occasions | None = None
        self.indptr: IntArray | None = None  # (n_users + 1,) rows of ``occasions`` per user
        self.now_us: int = 0

    def fit(self, data: RecsData, history: Interactions) -> BuyAgain:
        occasions = Occasions.of(history)
        self.stats = RepurchaseStats.learn(
            history,
            data.catalog,
            rate_prior=self.rate_prior,
            cycle_prior=self.cycle_prior,
            occasions=occasions,
        )
        self._index(occasions, len(data.users))
        self.now_us = int(history.ts_us.max()) if len(history) else 0
        return self

    def _index(self, occasions: Occasions, n_users: int) -> None:
        self.occasions = occasions
        self.indptr = np.searchsorted(occasions.user, np.arange(n_users + 1)).astype(np.int64)

    def _fitted(self) -> tuple[RepurchaseStats, Occasions, IntArray]:
        if self.stats is None or self.occasions is None or self.indptr is None:
            raise RuntimeError("buy_again: call fit() before recommend()")
        return self.stats, self.occasions, self.indptr

    def user_item_scores(self, users: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
        """``(row, item, score)`` of every item each of ``users`` bought (``row`` indexes ``users``)."""
        stats, occ, indptr = self._fitted()
        users = np.asarray(users, dtype=np.int64)
        lo, hi = indptr[users], indptr[users + 1]
        sizes = hi - lo
        rows = np.repeat(np.arange(users.size, dtype=np.int64), sizes)
        at = np.repeat(lo - np.cumsum(sizes) + sizes, sizes) + np.arange(rows.size, dtype=np.int64)
        item, count = occ.item[at], occ.count[at]
        listed = stats.rate[item] >= self.min_rate
        rows, at, item, count = rows[listed], at[listed], item[listed], count[listed]
        rate = stats.rate[item]
        repeats = (count - 1).astype(np.float64)
        propensity = (repeats + self.personal_prior * rate) / (repeats + self.personal_prior)
        days = np.maximum((self.now_us - occ.last_us[at]) / DAY_US, 1e-3)
        cycle = stats.cycle_days[item]
        # the ratio nearest to one cycle within [now, now + horizon]: due at any time of the horizon
        log_ratio = np.clip(0.0, np.log(days / cycle), np.log((days + self.horizon_days) / cycle))
        due = np.exp(-0.5 * (log_ratio / self.due_width) ** 2)
        score = propensity * (self.due_floor + (1.0 - self.due_floor) * due)
        return rows, item, np.asarray(score, dtype=np.float64)

    def recommend(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        """Each user's top ``k`` own purchases; ``PAD`` / ``-inf`` after the last one."""
        users = np.asarray(users, dtype=np.int64)
        rows, item, score = self.user_item_scores(users)
        if exclude is not None:
            score = np.where(exclude[item], -np.inf, score)
        return top_k_pairs(rows, item, score, users.size, k)

    def save(self, folder: str | Path) -> None:
        """Occasions and repurchase statistics as safetensors, parameters as JSON, under ``folder``."""
        stats, occ, indptr = self._fitted()
        arrays: dict[str, npt.NDArray[Any]] = {f"stats_{k}": v for k, v in stats.arrays().items()}
        arrays |= {"user": occ.user, "item": occ.item, "count": occ.count}
        arrays |= {"first_us": occ.first_us, "last_us": occ.last_us}
        params = {
            "kind": type(self).__name__,
            "name": self.name,
            "n_users": int(indptr.size - 1),
            "now_us": self.now_us,
            "personal_prior": self.personal_prior,
            "due_width": self.due_width,
            "due_floor": self.due_floor,
            "horizon_days": self.horizon_days,
            "min_rate": self.min_rate,
            "rate_prior": self.rate_prior,
            "cycle_prior": self.cycle_prior,
            "shop_rate": stats.shop_rate,
            "shop_cycle_days": stats.shop_cycle_days,
        }
        save_artifact(folder, arrays, params)

    @classmethod
    def load(cls, folder: str | Path) -> BuyAgain:
        arrays, params = load_artifact(folder, cls.__name__)
        names = (
            "personal_prior",
            "due_width",
            "due_floor",
            "horizon_days",
            "min_rate",
            "rate_prior",
            "cycle_prior",
        )
        model = cls(**{n: float(params[n]) for n in names})
        model.stats = RepurchaseStats.from_arrays(
            {k.removeprefix("stats_"): v for k, v in arrays.items() if k.startswith("stats_")}, params
        )
        empty_f = np.zeros(0, np.float64)
        occ = Occasions(
            user=arrays["user"],
            item=arrays["item"],
            count=arrays["count"],
            first_us=arrays["first_us"],
            last_us=arrays["last_us"],
            gaps_days=empty_f,
            gap_item=np.zeros(0, np.int64),
        )
        model._index(occ, int(params["n_users"]))
        model.now_us = int(params["now_us"])
        return model
