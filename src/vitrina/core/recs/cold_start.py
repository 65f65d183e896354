"""Cold start (docs/spec.md §3.6): lists for users with too little history for collaborative models.

A user with fewer than ``min_interactions`` positive events (clicks, carts, purchases; an
impression is not the user's choice) gets

    score(i) = (1 − w) · pop(i) + w · content(i)

* ``pop``: what people like them bought and clicked recently — event-weighted popularity
  (``EVENT_WEIGHT``) over the last ``window_days`` before the cutoff within the user's
  segment and city; when that group had fewer than ``min_group_events`` events in the
  window it backs off to the segment, then to everyone. Each level's item shares are
  shrunk towards the level above (a Dirichlet prior of ``prior_strength`` weighted events,
  as in :class:`~vitrina.core.recs.baselines.SegmentPopularity`): a segment × city group holds a
  few thousand events, too few to rank 20k items on its own. On the demo's test week, users
  with no positive event scored NDCG@10 0.008 held-out / 0.013 true utility unsmoothed, below
  global popularity (0.015 / 0.035); 0.015 / 0.037 with the default prior. Scaled so the
  row's top item is 1. A segment or city that every user shares (a shop that records no
  segments, or one city for all) is no group: its users read the level above, and their
  reason does not claim a likeness the data does not show.
* the window: a window in which fewer than ``min_window_users`` users chose anything says
  what a handful of people liked, not what is popular — the last two weeks of a ratings log
  that spans 18 years hold one or two users' bursts, and cold start built on them scored
  NDCG@10 0.035 where global popularity scored 0.30. Such a window is doubled until it holds
  that many users, or the whole history (:mod:`vitrina.core.recs.crowd`). The demo's two
  weeks hold about 12,000 such users.
* ``content``: the largest cosine (clipped at 0) between the item's vector and the vectors
  of the (up to ``max_touched``, most recent) items the user touched. Default vectors are
  category one-hots (L2), so ``content`` is 1 for the categories the user looked at; pass
  Item2Vec or two-tower vectors for finer similarity.
* ``w`` = ``content_weight`` (default 0.6) when the user touched anything, else 0. With
  one-hot vectors and ``w > 0.5`` every item of a touched category comes before the rest,
  ordered by popularity; finer vectors make the blend matter item by item. Measured for the
  users with < 5 events at the end of train, judged on the validation week (NDCG@10):
  demo data 0.0050 (w = 0), 0.0122 (0.4), 0.0135 (0.6); ci data 0.018, 0.027, 0.038 —
  the few clicks of a new user are the strongest signal there is about them.

Items the user touched stay eligible (people come back to buy what they clicked; removing
them cost 5% (demo) to 30% (ci) of that NDCG@10); past purchases are the business rules'
call (:mod:`vitrina.core.recs.business_rules`). Unservable items (out of stock, reported) are never returned.

Each item carries a reason: "lo viste hace poco" for an item the user touched, "porque
viste <title>" when the content term outweighs popularity, else "popular en <city>" /
"popular entre clientes como tú" / "popular en la tienda" after the popularity level the
user backed off to.

Cost: users who touched nothing share their popularity row's list (one ranking per row);
the others are scored against the whole catalog in chunks of ``chunk_size`` users
(~2,000 cold users/s on demo data, 20k items, 2 shared cores; ``benchmarks/rerank.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.interactions import EVENT_WEIGHT, FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD, top_k_rows
from vitrina.core.recs.crowd import MIN_CROWD, crowd_days
from vitrina.core.recs.dataset import RecsData

DAY_US = 86_400_000_000
REASON_GLOBAL = "popular en la tienda"
REASON_SEGMENT = "popular entre clientes como tú"
REASON_SEEN = "lo viste hace poco"
ObjectArray = npt.NDArray[np.object_]


@dataclass
class ColdStartRecommender:
    """Segment/city popularity blended with content similarity; see the module docstring.

    ``item_vectors`` (``(n_items, d)``, optional) replace the default category one-hots.
    """

    min_interactions: int = 5
    window_days: float = 14.0
    min_window_users: int = MIN_CROWD
    content_weight: float = 0.6
    min_group_events: int = 30
    prior_strength: float = 5000.0
    max_touched: int = 10
    item_vectors: npt.NDArray[np.floating] | None = None
    chunk_size: int = 512
    name: str = "cold_start"
    _popularity: npt.NDArray[np.float32] = field(init=False, repr=False)
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
        if self.prior_strength < 0:
            raise ValueError(f"prior_strength must be >= 0, got {self.prior_strength}")

    def fit(self, data: RecsData, history: Interactions) -> ColdStartRecommender:
        """Learn popularity as of the end of ``history`` and each user's touched items."""
        n_items, n_users = len(data.items), len(data.users)
        positives = history.positives()
        cutoff = int(history.ts_us.max()) + 1 if len(history) else 0
        recent = self._window(positives, cutoff)
        self._popularity, self._user_row, self._row_reason = self._popularity_rows(data, recent)
        self._touched = _recent_distinct_items(positives, n_users, self.max_touched)
        self._n_positive = np.bincount(positives.user, minlength=n_users).astype(np.int64)
        vectors = self._item_vectors(data)
        if vectors.shape[0] != n_items:
            raise ValueError(f"item_vectors have {vectors.shape[0]} rows for {n_items} items")
        self._vectors = np.vstack([vectors, np.zeros((1, vectors.shape[1]), np.float32)])
        self._titles = data.catalog["title"].astype(str).to_numpy(dtype=object)
        self._servable = data.servable
        return self

    def _window(self, positives: Interactions, cutoff: int) -> Interactions:
        """The positives of the last ``window_days`` before ``cutoff``, the window doubled
        until at least ``min_window_users`` users (one, at least) chose something in it."""
        days = crowd_days(positives, cutoff, self.window_days, max(self.min_window_users, 1))
        return positives.take(positives.ts_us >= cutoff - int(days * DAY_US))

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
        # Users who touched nothing get their popularity row as is: rank each row once.
        plain = np.flatnonzero(self._touched[user, 0] == PAD)
        if plain.size:
            rows, inverse = np.unique(self._user_row[user[plain]], return_inverse=True)
            score = np.where(blocked, -np.inf, self._popularity[rows])
            top, top_scores = top_k_rows(score, k)
            items[plain], scores[plain] = top[inverse], top_scores[inverse]
            reasons[plain] = np.where(top == PAD, "", self._row_reason[rows][:, None])[inverse]
        rich = np.flatnonzero(self._touched[user, 0] != PAD)
        for start in range(0, rich.size, self.chunk_size):
            rows = rich[start : start + self.chunk_size]
            items[rows], scores[rows], reasons[rows] = self._blend(user[rows], k, blocked)
        return items, scores, reasons

    def _blend(
        self, user: IntArray, k: int, blocked: npt.NDArray[np.bool_]
    ) -> tuple[IntArray, FloatArray, ObjectArray]:
        """Popularity blended with content for users who touched at least one item."""
        popularity = self._popularity[self._user_row[user]]
        touched = self._touched[user]
        live = touched != PAD
        vectors = self._vectors  # row PAD (-1) is the zero vector: similarity 0 to everything
        items_t = vectors[:-1].T
        content = np.zeros_like(popularity)
        for t in range(touched.shape[1]):  # one (users × items) block at a time bounds memory
            if not live[:, t].any():
                break
            np.maximum(content, vectors[touched[:, t]] @ items_t, out=content)
        np.maximum(content, 0.0, out=content)
        w = np.float32(self.content_weight)
        score = popularity * (1 - w)
        score += w * content
        score[:, blocked] = -np.inf
        top, top_scores = top_k_rows(cast(FloatArray, score), k)  # float32 ranks just as well
        safe = np.where(top != PAD, top, 0)
        pick_content = w * np.take_along_axis(content, safe, axis=1)
        by_content = pick_content > (1 - w) * np.take_along_axis(popularity, safe, axis=1)
        # The touched item behind each pick: the most recent one of the highest similarity.
        sims = np.einsum("ukd,utd->ukt", vectors[safe], vectors[touched])
        source = np.argmax(np.where(live[:, None, :], sims, -np.inf), axis=2)
        seen = np.take_along_axis(touched, source, axis=1)
        because = np.char.add("porque viste ", self._titles[np.where(by_content, seen, 0)].astype(str))
        itself = (top[:, :, None] == touched[:, None, :]).any(axis=2)
        popular = np.broadcast_to(self._row_reason[self._user_row[user]][:, None], top.shape)
        reasons = np.select(
            [top == PAD, by_content & itself, by_content], ["", REASON_SEEN, because], default=popular
        ).astype(object)
        return top, top_scores, reasons

    def _popularity_rows(
        self, data: RecsData, recent: Interactions
    ) -> tuple[npt.NDArray[np.float32], IntArray, ObjectArray]:
        """Popularity rows (global, qualifying segments, qualifying segment×city groups), the
        row each user reads, and the reason each row gives."""
        n_items, n_users = len(data.items), len(data.users)
        segment = _codes(data.user_table["segment"])
        city_code = _codes(data.user_table["city"])
        city_names = data.user_table["city"].to_numpy(dtype=object)
        n_cities = int(city_code.max()) + 1 if n_users else 0
        group = np.where((segment >= 0) & (city_code >= 0), segment * max(n_cities, 1) + city_code, -1)
        weight = EVENT_WEIGHT[recent.event]
        counts = np.bincount(recent.item, weights=weight, minlength=n_items)
        rows = [counts / max(counts.sum(), 1e-12)]  # item shares, smoothed level by level
        reasons: list[str] = [REASON_GLOBAL]
        user_row = np.zeros(n_users, dtype=np.int64)
        for level, key in (("segment", segment), ("city", group)):
            event_key = key[recent.user]
            counted = event_key >= 0
            sizes = np.bincount(event_key[counted], minlength=int(key.max()) + 1 if key.size else 0)
            parent_row = user_row.copy()  # the level above, for each user
            for value in np.flatnonzero(sizes >= self.min_group_events):
                members = key == value
                if members.all():  # one segment or city for everyone: the level above says it all
                    continue
                mine = counted & (event_key == value)
                own = np.bincount(recent.item[mine], weights=weight[mine], minlength=n_items)
                parent = rows[int(parent_row[members][0])]
                rows.append((own + self.prior_strength * parent) / (own.sum() + self.prior_strength))
                user_row[members] = len(rows) - 1
                reasons.append(
                    REASON_SEGMENT if level == "segment" else f"popular en {city_names[members][0]}"
                )
        matrix = np.vstack(rows).astype(np.float64)
        matrix /= np.maximum(matrix.max(axis=1, keepdims=True), 1e-12)  # each row's top item = 1
        return matrix.astype(np.float32), user_row, np.array(reasons, dtype=object)

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
