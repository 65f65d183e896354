"""What the source ranker knows about a (user, item) pair besides the sources' opinions: the
history of the pair, of the user and of the item as of a cutoff.

A source's score says how much it likes an item; whether the user will act on it now depends on
things no single source weighs: how often and how recently the user bought that very item (a
re-purchase is due, or was a one-off), how long the user has been away, how many items they buy,
and whether the item sells now (7 and 30 days), sells at all, and is the kind people buy again
(the share of its buyers who bought it more than once). All counts are of positives (clicks,
add-to-carts, purchases: the user's own choices) strictly before the cutoff.

**No item counts where impressions are logged.** A shop that logs what it showed chose, through
its own lists, which items could be chosen at all: there an item's count of choices measures how
much the shop pushed it as much as how much people want it, and a ranker fed the counts learns to
replay the shop's old lists — the reason the full model's ranker leaves its item counts out
(:mod:`vitrina.pipelines.recs.ranking_features`). With ``exposure_logged`` the item's counts are
left out (:data:`EXPOSED_HISTORY_FEATURES`); its repeat share, a share of its own buyers, stays.
A shop that logs no impression (an order file, a rating log) keeps them: there they are the only
signal of what sells, and they carry the rankers' gain on a real shop (ADR-0035).

Pure: arrays in, a frame out, no clock (the cutoff is an argument).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions

DAY_US = 86_400_000_000
RECENT_DAYS = (7, 30)
"""Windows of the item's recent popularity: a week (what sells now) and a month (what sells this
season), the two recencies the real-data benchmark's popularity baselines use."""
HISTORY_FEATURES = (
    "user_item_count",
    "user_item_days",
    "user_days",
    "user_count",
    "user_distinct",
    *(f"item_popularity_{days}d" for days in RECENT_DAYS),
    "item_popularity",
    "item_buyers",
    "item_repeat_share",
)
"""Columns of :meth:`HistoryIndex.features`, in order (NaN where the pair or user has no history)."""
ITEM_COUNTS = (*(f"item_popularity_{days}d" for days in RECENT_DAYS), "item_popularity", "item_buyers")
"""The item's counts: what a shop's own lists push where they are logged (module docstring)."""
EXPOSED_HISTORY_FEATURES = tuple(name for name in HISTORY_FEATURES if name not in ITEM_COUNTS)
"""Columns of :meth:`HistoryIndex.features` with ``exposure_logged``."""


def history_columns(exposure_logged: bool) -> tuple[str, ...]:
    """The columns :meth:`HistoryIndex.features` gives for a history that does or does not log
    impressions (module docstring)."""
    return EXPOSED_HISTORY_FEATURES if exposure_logged else HISTORY_FEATURES


class HistoryIndex:
    """Per-pair, per-user and per-item counts of positives before ``cutoff_us``, indexed once
    and looked up for any candidate rows; without the item's counts when ``exposure_logged``
    (module docstring)."""

    def __init__(
        self,
        history: Interactions,
        cutoff_us: int,
        n_users: int,
        n_items: int,
        exposure_logged: bool = False,
    ) -> None:
        positives = history.before(cutoff_us).positives()
        self.columns = history_columns(exposure_logged)
        self.cutoff_us = int(cutoff_us)
        self.n_items = int(n_items)
        user, item, ts = positives.user, positives.item, positives.ts_us
        key = user.astype(np.int64) * self.n_items + item
        order = np.argsort(key, kind="stable")
        key, ts_sorted = key[order], ts[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
        self.pair_keys: IntArray = key[starts]
        self.pair_count: FloatArray = np.diff(np.append(starts, key.size)).astype(np.float64)
        self.pair_last: IntArray = (
            np.maximum.reduceat(ts_sorted, starts) if key.size else np.zeros(0, np.int64)
        )
        pair_user = self.pair_keys // self.n_items if key.size else np.zeros(0, np.int64)
        pair_item = self.pair_keys % self.n_items if key.size else np.zeros(0, np.int64)
        self.user_count = np.bincount(user, minlength=n_users).astype(np.float64)
        self.user_distinct = np.bincount(pair_user, minlength=n_users).astype(np.float64)
        last = np.full(n_users, -1, dtype=np.int64)
        np.maximum.at(last, user, ts)
        self.user_last = last
        self.item_count = np.bincount(item, minlength=n_items).astype(np.float64)
        self.item_recent = {
            days: np.bincount(item[ts >= cutoff_us - days * DAY_US], minlength=n_items).astype(np.float64)
            for days in RECENT_DAYS
        }
        self.item_buyers = np.bincount(pair_item, minlength=n_items).astype(np.float64)
        again = np.bincount(pair_item[self.pair_count > 1], minlength=n_items).astype(np.float64)
        self.item_repeat_share = again / np.maximum(self.item_buyers, 1.0)

    def features(self, users: IntArray, items: IntArray) -> pd.DataFrame:
        """:attr:`columns` of each (``users[r]``, ``items[r]``) pair."""
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        wanted = users * self.n_items + items
        if self.pair_keys.size:
            pos = np.minimum(np.searchsorted(self.pair_keys, wanted), self.pair_keys.size - 1)
            found = self.pair_keys[pos] == wanted
            count = np.where(found, self.pair_count[pos], 0.0)
            pair_days = np.where(found, (self.cutoff_us - self.pair_last[pos]) / DAY_US, np.nan)
        else:
            count, pair_days = np.zeros(users.size), np.full(users.size, np.nan)
        user_last = self.user_last[users]
        columns = {
            "user_item_count": count,
            "user_item_days": pair_days,
            "user_days": np.where(user_last >= 0, (self.cutoff_us - user_last) / DAY_US, np.nan),
            "user_count": self.user_count[users],
            "user_distinct": self.user_distinct[users],
            **{f"item_popularity_{days}d": self.item_recent[days][items] for days in RECENT_DAYS},
            "item_popularity": self.item_count[items],
            "item_buyers": self.item_buyers[items],
            "item_repeat_share": self.item_repeat_share[items],
        }
        return pd.DataFrame({name: np.asarray(columns[name], dtype=np.float64) for name in self.columns})

    def positive_users(self) -> IntArray:
        """Users with at least one positive before the cutoff (those the sources know)."""
        return np.flatnonzero(self.user_count > 0).astype(np.int64)
