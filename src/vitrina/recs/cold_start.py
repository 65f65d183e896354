"""Cold start (SPEC §3.6): lists for users with too little history for collaborative models.

A user with fewer than ``min_interactions`` positive events (clicks, carts, purchases; an
impression is not the user's choice) gets

    score(i) = (1 − w) · pop(i) + w · content(i)

* ``pop``: what people like them bought and clicked recently — event-weighted popularity
  (``EVENT_WEIGHT``) over the last ``window_days`` before the cutoff within the user's
  segment and city; when that group had fewer than ``min_group_events`` events in the
  window it backs off to the segment, then to everyone. Scaled so the group's top item is 1.
* ``content``: the largest cosine (clipped at 0) between the item's vector and the vectors
  of the (up to ``max_touched``, most recent) items the user touched. Default vectors are
  category one-hots (L2), so ``content`` is 1 for the categories the user looked at; pass
  Item2Vec or two-tower vectors for finer similarity.
* ``w`` = ``content_weight`` (default 0.4) when the user touched anything, else 0. With
  one-hot vectors, a touched-category item outranks an untouched-category one unless the
  latter is ``w / (1 − w)`` = 0.67 of the group's top popularity more popular: the few
  clicks of a new user are a strong intent signal, but a single click should not hide the
  bestsellers entirely.

Each item carries a reason: "porque viste <title>" when the content term contributes more
than popularity, else "popular en <city>" / "popular entre clientes como tú" / "popular en
la tienda" after the popularity level the user backed off to. Items the user touched are not
recommended back, and unservable items (out of stock, reported) never are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.recs.base import PAD, top_k_rows
from vitrina.recs.data import EVENT_WEIGHT, FloatArray, IntArray, Interactions, RecsData

DAY_US = 86_400_000_000
REASON_GLOBAL = "popular en la tienda"
REASON_SEGMENT = "popular entre clientes como tú"
ObjectArray = npt.NDArray[np.object_]


@dataclass
class ColdStartRecommender:
    """Segment/city popularity blended with content similarity; see the module docstring.

    ``item_vectors`` (``(n_items, d)``, optional) replace the default category one-hots.
    """

    min_interactions: int = 5
    window_days: float = 14.0
    content_weight: float = 0.4
    min_group_events: int = 30
    max_touched: int = 10
    item_vectors: npt.NDArray[np.floating] | None = None
    chunk_size: int = 512
    name: str = "cold_start"
    _popularity: FloatArray = field(init=False, repr=False)
    _user_row: IntArray = field(init=False, repr=False)
    _row_reason: ObjectArray = field(init=False, repr=False)
    _touched: IntArray = field(init=False, repr=False)
    _n_positive: IntArray = field(init=False, repr=False)
    _vectors: npt.NDArray[np.float32] = field(init=False, repr=False)
    _titles: ObjectArray = field(init=False, repr=False)
    _servable: npt.NDArray[np.bool_] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.content_weight <= 1.0:
            raise ValueError(f"content_weight must lie in [0, 1], got {self.content_weight}")
        if self.window_days <= 0 or self.max_touched < 1 or self.chunk_size < 1:
            raise ValueError("window_days, max_touched and chunk_size must be positive")

    def fit(self, data: RecsData, history: Interactions) -> ColdStartRecommender:
        """Learn popularity as of the end of ``history`` and each user's touched items."""
        n_items, n_users = len(data.items), len(data.users)
        positives = history.positives()
        cutoff = int(history.ts_us.max()) + 1 if len(history) else 0
        recent = positives.take(positives.ts_us >= cutoff - int(self.window_days * DAY_US))
        if len(recent) == 0:  # a quiet window: all-time popularity beats none
            recent = positives
        self._popularity, self._user_row, self._row_reason = self._popularity_rows(data, recent)
        self._touched = _recent_distinct_items(positives, n_users, self.max_touched)
        self._n_positive = np.bincount(positives.user, minlength=n_users).astype(np.int64)
        self._vectors = self._item_vectors(data)
        self._titles = data.catalog["title"].astype(str).to_numpy(dtype=object)
        self._servable = data.servable
        if self._vectors.shape[0] != n_items:
            raise ValueError(f"item_vectors have {self._vectors.shape[0]} rows for {n_items} items")
        return self

    def is_cold(self, users: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which users have fewer than ``min_interactions`` positive events in the history."""
        return np.asarray(self._n_positive[np.asarray(users, dtype=np.int64)] < self.min_interactions)

    def recommend(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray]:
        items, scores, _ = self.recommend_with_reasons(users, k, exclude)
        return items, scores

    def recommend_with_reasons(
        self, users: npt.ArrayLike, k: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray, ObjectArray]:
        """Top ``k`` per user (any user, cold or not), scores in [0, 1] and a reason per item
        (``(n, k)`` strings, ``""`` at padding)."""
        user = np.asarray(users, dtype=np.int64)
        blocked = ~self._servable if exclude is None else (~self._servable | np.asarray(exclude, dtype=bool))
        n = user.size
        items = np.full((n, k), PAD, dtype=np.int64)
        scores = np.full((n, k), -np.inf)
        reasons = np.full((n, k), "", dtype=object)
        for start in range(0, n, self.chunk_size):
            rows = slice(start, start + self.chunk_size)
            items[rows], scores[rows], reasons[rows] = self._chunk(user[rows], k, blocked)
        return items, scores, reasons

    def _chunk(
        self, user: IntArray, k: int, blocked: npt.NDArray[np.bool_]
    ) -> tuple[IntArray, FloatArray, ObjectArray]:
        popularity = self._popularity[self._user_row[user]]
        touched = self._touched[user]
        has_touched = touched[:, 0] != PAD
        content = np.zeros_like(popularity)
        source = np.zeros(popularity.shape, dtype=np.int64)  # column of ``touched`` behind content
        for t in range(touched.shape[1]):
            live = touched[:, t] != PAD
            if not live.any():
                break
            sim = np.maximum(self._vectors[np.where(live, touched[:, t], 0)] @ self._vectors.T, 0.0)
            better = live[:, None] & (sim > content)
            content = np.where(better, sim, content)
            source = np.where(better, t, source)
        weight = np.where(has_touched, self.content_weight, 0.0)[:, None]
        pop_part, content_part = (1.0 - weight) * popularity, weight * content
        score = pop_part + content_part
        score[:, blocked] = -np.inf
        row, col = np.nonzero(touched != PAD)
        score[row, touched[row, col]] = -np.inf  # never recommend back what they just touched
        top, top_scores = top_k_rows(score, k)
        safe = np.where(top != PAD, top, 0)
        by_content = np.take_along_axis(content_part > pop_part, safe, axis=1)
        seen = np.take_along_axis(touched, np.take_along_axis(source, safe, axis=1), axis=1)
        because = np.char.add("porque viste ", self._titles[np.where(by_content, seen, 0)].astype(str))
        popular = np.broadcast_to(self._row_reason[self._user_row[user]][:, None], top.shape)
        reasons = np.where(top == PAD, "", np.where(by_content, because, popular)).astype(object)
        return top, top_scores, reasons

    def _popularity_rows(
        self, data: RecsData, recent: Interactions
    ) -> tuple[FloatArray, IntArray, ObjectArray]:
        """Popularity rows (global, qualifying segments, qualifying segment×city groups), the
        row each user reads, and the reason each row gives."""
        n_items, n_users = len(data.items), len(data.users)
        segment = _codes(data.user_table["segment"])
        city_code = _codes(data.user_table["city"])
        city_names = data.user_table["city"].to_numpy(dtype=object)
        n_cities = int(city_code.max()) + 1 if n_users else 0
        group = np.where((segment >= 0) & (city_code >= 0), segment * max(n_cities, 1) + city_code, -1)
        weight = EVENT_WEIGHT[recent.event]
        rows = [np.bincount(recent.item, weights=weight, minlength=n_items)]
        reasons: list[str] = [REASON_GLOBAL]
        user_row = np.zeros(n_users, dtype=np.int64)
        for level, key in (("segment", segment), ("city", group)):
            event_key = key[recent.user]
            counted = event_key >= 0
            counts = np.bincount(event_key[counted], minlength=int(key.max()) + 1 if key.size else 0)
            for value in np.flatnonzero(counts >= self.min_group_events):
                mine = counted & (event_key == value)
                rows.append(np.bincount(recent.item[mine], weights=weight[mine], minlength=n_items))
                members = key == value
                user_row[members] = len(rows) - 1
                reasons.append(
                    REASON_SEGMENT if level == "segment" else f"popular en {city_names[members][0]}"
                )
        matrix = np.vstack(rows).astype(np.float64)
        matrix /= np.maximum(matrix.max(axis=1, keepdims=True), 1e-12)  # each row's top item = 1
        return matrix, user_row, np.array(reasons, dtype=object)

    def _item_vectors(self, data: RecsData) -> npt.NDArray[np.float32]:
        if self.item_vectors is not None:
            vectors = np.asarray(self.item_vectors, dtype=np.float32)
        else:
            category = data.item_category
            vectors = np.zeros((category.size, int(category.max()) + 1 if category.size else 0), np.float32)
            vectors[np.arange(category.size), category] = 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def _codes(values: pd.Series) -> IntArray:
    """Integer codes of a label column; -1 for missing labels."""
    return np.asarray(pd.factorize(values)[0], dtype=np.int64)


def _recent_distinct_items(positives: Interactions, n_users: int, limit: int) -> IntArray:
    """``(n_users, limit)``: each user's most recently touched distinct items, PAD-padded."""
    out = np.full((n_users, limit), PAD, dtype=np.int64)
    if len(positives) == 0:
        return out
    order = np.lexsort((-positives.ts_us, positives.user))  # by user, newest first
    user, item = positives.user[order], positives.item[order]
    pair = pd.DataFrame({"user": user, "item": item})
    first = ~pair.duplicated().to_numpy()  # first = newest occurrence of each (user, item)
    user, item = user[first], item[first]
    start = np.searchsorted(user, user, side="left")
    rank = np.arange(user.size) - start
    keep = rank < limit
    out[user[keep], rank[keep]] = item[keep]
    return out
