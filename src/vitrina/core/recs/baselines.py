"""Popularity baselines every recommender is compared with (docs/spec.md §3.7); ALS, the third
baseline, is in :mod:`vitrina.core.recs.als`.

Both implement :class:`~vitrina.core.recs.recommender.Recommender`: ``fit(data, history)`` reads
only ``history`` (interactions before a cutoff) plus the static user table, never
``data.interactions``, so fitting before the test part cannot see the test.

* :class:`GlobalPopularity` — recency-weighted popularity of positive events (the half-life
  widened when it holds too few users to call anything popular: :mod:`.crowd`); with
  ``window_days``, only the last days count ("popular in the last 30 days").
* :class:`SegmentPopularity` — popularity within the user's segment, shrunk towards global.
Artifacts are safetensors (arrays) plus JSON (parameters), never pickle
(:mod:`vitrina.core.recs.artifact_files`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.interactions import EVENT_WEIGHT, FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD, top_k_rows
from vitrina.core.recs.artifact_files import load_artifact, save_artifact
from vitrina.core.recs.crowd import MIN_CROWD, crowd_days
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.user_items import UserItems, drop_members

BoolArray = npt.NDArray[np.bool_]
US_PER_DAY = 86_400_000_000


def recency_weights(
    history: Interactions, half_life_days: float | None, min_users: int = 0, window_days: float | None = None
) -> FloatArray:
    """``EVENT_WEIGHT[event] · 2^(-(t_last - t) / half_life)`` per interaction.

    ``t_last`` is the last instant of ``history`` (the cutoff as far as the model knows), so
    an event one half-life before it counts half. ``None`` disables the decay. With
    ``window_days``, events older than that before ``t_last`` weigh 0 ("popular in the last
    30 days"). With ``min_users``, the half-life and the window are doubled until at least that
    many users chose within them (:func:`~vitrina.core.recs.crowd.crowd_days`): a week in
    which six users chose is not what is popular.
    """
    weights = np.asarray(EVENT_WEIGHT[history.event], dtype=np.float64)
    if len(history) == 0:
        return weights
    for days in (half_life_days, window_days):
        if days is not None and days <= 0:
            raise ValueError(f"half_life_days and window_days must be > 0, got {days}")
    last = int(history.ts_us.max())
    age_days = (last - history.ts_us) / US_PER_DAY
    if window_days is not None:
        window_days = crowd_days(history.positives(), last + 1, window_days, min_users)
        weights = np.where(age_days < window_days, weights, 0.0)
    if half_life_days is None:
        return weights
    half_life_days = crowd_days(history.positives(), last + 1, half_life_days, min_users)
    return np.asarray(weights * np.exp2(-age_days / half_life_days), dtype=np.float64)


def user_groups(data: RecsData, column: str) -> tuple[IntArray, int]:
    """Group code of every user by ``user_table[column]`` (-1 where missing) and the number of groups."""
    if column not in data.user_table.columns:
        raise ValueError(f"user table has no column {column!r} to group users by")
    codes, _ = pd.factorize(data.user_table[column])
    codes = np.asarray(codes, dtype=np.int64)
    return codes, int(codes.max(initial=-1)) + 1


def group_item_counts(
    codes: IntArray, history: Interactions, weights: FloatArray, n_groups: int, n_items: int
) -> FloatArray:
    """``(n_groups, n_items)`` sums of ``weights`` of the events of each group's users."""
    group = codes[history.user]
    known = group >= 0
    flat = np.bincount(
        group[known] * n_items + history.item[known], weights=weights[known], minlength=n_groups * n_items
    )
    return np.asarray(flat, dtype=np.float64).reshape(n_groups, n_items)


class _GroupPopularity:
    """Popularity scores per user group (row ``-1`` of ``scores`` = global, for ungrouped users).

    Subclasses define the groups and the scores; ranking, exclusion and persistence live here.
    """

    name = "popularity"

    def __init__(
        self,
        *,
        half_life_days: float | None = 7.0,
        exclude_purchased: bool = True,
        min_recent_users: int = MIN_CROWD,
        window_days: float | None = None,
    ) -> None:
        self.half_life_days = half_life_days
        self.window_days = window_days
        self.exclude_purchased = exclude_purchased
        self.min_recent_users = min_recent_users
        self.scores: FloatArray | None = None  # (n_groups + 1, n_items); last row global
        self.user_group: IntArray | None = None  # (n_users,) row of ``scores``
        self.bought: UserItems | None = None

    def _group_scores(self, data: RecsData, history: Interactions) -> tuple[FloatArray, IntArray]:
        raise NotImplementedError

    def fit(self, data: RecsData, history: Interactions) -> _GroupPopularity:
        positives = history.positives()
        self.scores, self.user_group = self._group_scores(data, positives)
        self.bought = UserItems.purchases(positives, len(data.items))
        return self

    def _fitted(self) -> tuple[FloatArray, IntArray, UserItems]:
        if self.scores is None or self.user_group is None or self.bought is None:
            raise RuntimeError(f"{self.name}: call fit() before recommend()")
        return self.scores, self.user_group, self.bought

    def recommend(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        """Each user's group ranking without ``exclude`` (and, if asked, their purchases)."""
        scores, user_group, bought = self._fitted()
        users = np.asarray(users, dtype=np.int64)
        extra = int(bought.count(users).max(initial=0)) if self.exclude_purchased else 0
        groups = user_group[users]
        out_items = np.full((users.size, k + extra), PAD, dtype=np.int64)
        out_scores = np.full((users.size, k + extra), -np.inf)
        for group in np.unique(groups):
            row = scores[group].copy()
            if exclude is not None:
                row[exclude] = -np.inf
            items, top = top_k_rows(row[None, :], k + extra)
            out_items[groups == group] = items[0]
            out_scores[groups == group] = top[0]
        if not self.exclude_purchased:
            return out_items[:, :k], out_scores[:, :k]
        return drop_members(out_items, out_scores, users, bought, k)

    def save(self, folder: str | Path) -> None:
        """Scores, user groups and purchases as safetensors + parameters as JSON, under ``folder``."""
        scores, user_group, bought = self._fitted()
        arrays = {"scores": scores, "user_group": user_group, "bought_keys": bought.keys}
        params = {"kind": type(self).__name__, "name": self.name, "n_items": bought.n_items}
        save_artifact(folder, arrays, params | self._params())

    def _params(self) -> dict[str, Any]:
        return {
            "half_life_days": self.half_life_days,
            "exclude_purchased": self.exclude_purchased,
            "min_recent_users": self.min_recent_users,
            "window_days": self.window_days,
        }

    def _load_arrays(self, arrays: dict[str, npt.NDArray[Any]], params: dict[str, Any]) -> None:
        self.scores = arrays["scores"]
        self.user_group = arrays["user_group"]
        self.bought = UserItems(arrays["bought_keys"], int(params["n_items"]))


class GlobalPopularity(_GroupPopularity):
    """The same list for everyone: positive events summed with ``EVENT_WEIGHT`` and decayed
    with a half-life (default 7 days: a week is the period of the marketplace's cycles and
    trending items fade within a few weeks, so older interest counts, but less).

    Ties (e.g. items never interacted with, or equal counts in a window) break by item index
    (:func:`~vitrina.core.ranking.top_k.top_k_rows`), so a shorter list is the prefix of a
    longer one.
    """

    name = "popularity"

    def _group_scores(self, data: RecsData, history: Interactions) -> tuple[FloatArray, IntArray]:
        weights = recency_weights(history, self.half_life_days, self.min_recent_users, self.window_days)
        scores = np.bincount(history.item, weights=weights, minlength=len(data.items)).astype(np.float64)
        return scores[None, :], np.zeros(len(data.users), dtype=np.int64)

    @classmethod
    def load(cls, folder: str | Path) -> GlobalPopularity:
        arrays, params = load_artifact(folder, cls.__name__)
        model = cls(
            half_life_days=params["half_life_days"],
            exclude_purchased=params["exclude_purchased"],
            min_recent_users=params.get("min_recent_users", MIN_CROWD),
            window_days=params.get("window_days"),
        )
        model._load_arrays(arrays, params)
        return model


class SegmentPopularity(_GroupPopularity):
    """Popularity within the user's segment (``user_table[column]``), backed off to global.

    Blend (additive smoothing towards the global distribution, a Dirichlet prior):
    ``p_s(i) = (c_s(i) + m · p_g(i)) / (C_s + m)`` where ``c_s(i)`` is the decayed weighted
    count of item ``i`` in segment ``s``, ``C_s = Σ_i c_s(i)``, ``p_g`` the global share and
    ``m = prior_strength`` (in weighted events). A segment with little data (``C_s ≪ m``)
    ranks like global popularity; a large one ranks by its own counts, and an item it has
    barely touched still inherits its global share. Users without a segment, or whose
    segment has no history at all, get global popularity.
    """

    name = "segment_popularity"

    def __init__(
        self,
        *,
        column: str = "segment",
        prior_strength: float = 200.0,
        half_life_days: float | None = 7.0,
        exclude_purchased: bool = True,
        min_recent_users: int = MIN_CROWD,
        window_days: float | None = None,
    ) -> None:
        super().__init__(
            half_life_days=half_life_days,
            exclude_purchased=exclude_purchased,
            min_recent_users=min_recent_users,
            window_days=window_days,
        )
        if prior_strength < 0:
            raise ValueError(f"prior_strength must be >= 0, got {prior_strength}")
        self.column = column
        self.prior_strength = prior_strength

    def _group_scores(self, data: RecsData, history: Interactions) -> tuple[FloatArray, IntArray]:
        codes, n_groups = user_groups(data, self.column)
        n_items = len(data.items)
        weights = recency_weights(history, self.half_life_days, self.min_recent_users, self.window_days)
        counts = group_item_counts(codes, history, weights, n_groups, n_items)
        global_counts = np.bincount(history.item, weights=weights, minlength=n_items).astype(np.float64)
        total = global_counts.sum()
        global_share = global_counts / total if total > 0 else np.full(n_items, 1.0 / max(n_items, 1))
        mass = counts.sum(axis=1, keepdims=True)
        blended = (counts + self.prior_strength * global_share) / np.maximum(
            mass + self.prior_strength, 1e-12
        )
        scores = np.vstack([blended, global_share[None, :]])
        user_group = np.where((codes >= 0) & (mass[codes, 0] > 0), codes, n_groups)
        return scores, user_group

    def _params(self) -> dict[str, Any]:
        return super()._params() | {"column": self.column, "prior_strength": self.prior_strength}

    @classmethod
    def load(cls, folder: str | Path) -> SegmentPopularity:
        arrays, params = load_artifact(folder, cls.__name__)
        model = cls(
            column=params["column"],
            prior_strength=params["prior_strength"],
            half_life_days=params["half_life_days"],
            exclude_purchased=params["exclude_purchased"],
            min_recent_users=params.get("min_recent_users", MIN_CROWD),
            window_days=params.get("window_days"),
        )
        model._load_arrays(arrays, params)
        return model
