"""Trending: what is chosen more lately than it used to be, overall or per segment / city.

Popularity answers "what do many choose"; trending answers "what do more choose now than before",
which surfaces a season's items and new hits before their all-time counts catch up. For item
``i`` in group ``g`` (all users, or the users of one ``user_table[column]`` value):

    trend = (R + c) / (L · recent_days / baseline_days + c)

``R`` is the item's weighted choices (``EVENT_WEIGHT``) in the last ``recent_days``, ``L`` in the
``baseline_days`` before them (or as many of them as the history covers), scaled to the same
length, and ``c`` a pseudo-count that keeps an
item going from 0 to 1 choice from topping the list: ``smoothing`` × the median ``R`` of the items
chosen lately in that group, so it means the same in a busy shop and a slow one. An item as
popular as before scores 1, one chosen three times as much scores nearly 3 once its counts are
large against ``c``. The recent span is widened like popularity's (:mod:`.crowd`) until it holds
enough users. Users without a group, or whose group chose nothing lately, get the global trend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vitrina.core.ranking.interactions import EVENT_WEIGHT, FloatArray, IntArray, Interactions
from vitrina.core.recs.artifact_files import load_artifact
from vitrina.core.recs.baselines import US_PER_DAY, _GroupPopularity, group_item_counts, user_groups
from vitrina.core.recs.crowd import MIN_CROWD, crowd_days
from vitrina.core.recs.dataset import RecsData


def trend_scores(recent: FloatArray, baseline: FloatArray, ratio: float, smoothing: float) -> FloatArray:
    """Row-wise ``(R + c) / (L · ratio + c)``, ``c`` = ``smoothing`` × the row's median positive ``R``;
    minus 1 where ``R = 0``, so an item nobody chose lately ranks below every item somebody did."""
    chosen = np.where(recent > 0, recent, np.nan)
    with np.errstate(all="ignore"):
        median = (
            np.nanmedian(chosen, axis=1, keepdims=True) if recent.size else np.zeros((recent.shape[0], 1))
        )
    c = smoothing * np.nan_to_num(median, nan=1.0)
    c = np.where(c > 0, c, 1.0)
    trend = (recent + c) / (baseline * ratio + c)
    return np.asarray(np.where(recent > 0, trend, trend - 1.0), dtype=np.float64)


class Trending(_GroupPopularity):
    """Recent rate over the preceding baseline rate, smoothed (module docstring)."""

    name = "trending"

    def __init__(
        self,
        *,
        column: str | None = None,
        recent_days: float = 7.0,
        baseline_days: float = 28.0,
        smoothing: float = 1.0,
        exclude_purchased: bool = True,
        min_recent_users: int = MIN_CROWD,
    ) -> None:
        super().__init__(
            half_life_days=None, exclude_purchased=exclude_purchased, min_recent_users=min_recent_users
        )
        if recent_days <= 0 or baseline_days <= 0 or smoothing <= 0:
            raise ValueError("recent_days, baseline_days and smoothing must be > 0")
        self.column = column
        self.recent_days = recent_days
        self.baseline_days = baseline_days
        self.smoothing = smoothing

    def _group_scores(self, data: RecsData, history: Interactions) -> tuple[FloatArray, IntArray]:
        n_items, n_users = len(data.items), len(data.users)
        if self.column is None:
            codes, n_groups = np.full(n_users, -1, dtype=np.int64), 0
        else:
            codes, n_groups = user_groups(data, self.column)
        weights = np.asarray(EVENT_WEIGHT[history.event], dtype=np.float64)
        end = int(history.ts_us.max()) + 1 if len(history) else 0
        recent_days = crowd_days(history, end, self.recent_days, self.min_recent_users)
        split = end - int(recent_days * US_PER_DAY)
        start = split - int(self.baseline_days * US_PER_DAY)
        is_recent = history.ts_us >= split
        is_baseline = (history.ts_us >= start) & ~is_recent
        every = np.zeros(n_users, dtype=np.int64)
        recent = np.vstack(
            [
                group_item_counts(codes, history, weights * is_recent, n_groups, n_items),
                group_item_counts(every, history, weights * is_recent, 1, n_items),
            ]
        )
        baseline = np.vstack(
            [
                group_item_counts(codes, history, weights * is_baseline, n_groups, n_items),
                group_item_counts(every, history, weights * is_baseline, 1, n_items),
            ]
        )
        # a history shorter than the baseline span: compare with the days it does cover
        first = int(history.ts_us.min()) if len(history) else split
        covered_days = max(split - max(start, first), 0) / US_PER_DAY
        ratio = recent_days / covered_days if covered_days > 0 else 0.0
        scores = trend_scores(recent, baseline, ratio, self.smoothing)
        active = recent.sum(axis=1) > 0
        user_group = np.where((codes >= 0) & active[np.maximum(codes, 0)], codes, n_groups)
        return scores, user_group

    def _params(self) -> dict[str, Any]:
        return super()._params() | {
            "column": self.column,
            "recent_days": self.recent_days,
            "baseline_days": self.baseline_days,
            "smoothing": self.smoothing,
        }

    @classmethod
    def load(cls, folder: str | Path) -> Trending:
        arrays, params = load_artifact(folder, cls.__name__)
        names = (
            "column",
            "recent_days",
            "baseline_days",
            "smoothing",
            "exclude_purchased",
            "min_recent_users",
        )
        model = cls(**{n: params[n] for n in names})
        model._load_arrays(arrays, params)
        return model
