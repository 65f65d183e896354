"""The ALS baseline (docs/spec.md §3.7): implicit-feedback matrix factorisation (Hu, Koren &
Volinsky 2008) with the ``implicit`` library; users it never saw get global popularity.

It implements :class:`~vitrina.core.recs.recommender.Recommender` like the popularity
baselines of :mod:`vitrina.core.recs.baselines`: ``fit(data, history)`` reads only ``history``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from vitrina.core.ranking.interactions import EVENT_WEIGHT, FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD, top_k_wide
from vitrina.core.recs.artifact_files import load_artifact, save_artifact
from vitrina.core.recs.baselines import BoolArray, GlobalPopularity
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.user_items import UserItems

_SCORE_CHUNK = 1 << 25
"""Scores per dense chunk (users = this / n_items; 128 MB of float32): at 200,000 items 167 users
per product, where 20 streamed the item factors from memory once per 20 users, 3× slower a user."""


class ALSRecommender:
    """Implicit ALS (``implicit.cpu.als.AlternatingLeastSquares``) on positive events.

    The user × item matrix holds ``Σ EVENT_WEIGHT`` of each pair's positive events; with
    ``alpha`` the confidence is ``1 + alpha · Σ EVENT_WEIGHT`` (implicit's convention) and
    the preference 1 for every observed pair. A score is ``user_factor · item_factor``.
    Users without a positive event in ``history`` get :class:`GlobalPopularity`.

    Defaults (32 factors, regularization 0.5, alpha 4, 15 iterations) were the best of a
    small grid on the demo's validation part (NDCG@10 within a few % across the grid).
    ``filter_liked`` removes the items a user already interacted with positively;
    ``num_threads`` stays small (1 by default) because the machine is shared and a single
    thread keeps the fit deterministic for a given ``random_state``.
    """

    name = "als"

    def __init__(
        self,
        *,
        factors: int = 32,
        regularization: float = 0.5,
        alpha: float = 4.0,
        iterations: int = 15,
        filter_liked: bool = False,
        random_state: int = 42,
        num_threads: int = 1,
        half_life_days: float | None = 7.0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.filter_liked = filter_liked
        self.random_state = random_state
        self.num_threads = num_threads
        self.fallback = GlobalPopularity(half_life_days=half_life_days, exclude_purchased=False)
        self.user_factors: npt.NDArray[np.float32] | None = None
        self.item_factors: npt.NDArray[np.float32] | None = None
        self.known: BoolArray | None = None  # users with at least one positive in history
        self.liked: UserItems | None = None

    def fit(self, data: RecsData, history: Interactions) -> ALSRecommender:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        positives = history.positives()
        n_users, n_items = len(data.users), len(data.items)
        matrix = sp.csr_matrix(
            (EVENT_WEIGHT[positives.event].astype(np.float32), (positives.user, positives.item)),
            shape=(n_users, n_items),
        )
        matrix.sum_duplicates()
        # implicit's solver runs its own threads; nested BLAS threads would only oversubscribe.
        with threadpool_limits(limits=1, user_api="blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.random_state,
                num_threads=self.num_threads,
            )
            model.fit(matrix, show_progress=False)
        self.user_factors = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self.known = np.asarray(np.diff(matrix.indptr) > 0)
        self.liked = UserItems.of(positives.user, positives.item, n_items)
        self.fallback.fit(data, history)
        return self

    def _fitted(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], BoolArray, UserItems]:
        if self.user_factors is None or self.item_factors is None or self.known is None or self.liked is None:
            raise RuntimeError("als: call fit() before recommend()")
        return self.user_factors, self.item_factors, self.known, self.liked

    def recommend(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        """Top ``k`` items by factor dot product, scored in chunks of users to bound memory; the
        float32 products are ranked as they are (:func:`~vitrina.core.ranking.top_k.top_k_wide`:
        every user is scored against the whole catalog, so the ranking is most of the batch)."""
        user_factors, item_factors, known, liked = self._fitted()
        users = np.asarray(users, dtype=np.int64)
        out_items = np.full((users.size, k), PAD, dtype=np.int64)
        out_scores = np.full((users.size, k), -np.inf)
        seen = np.flatnonzero(known[users])
        chunk = max(1, _SCORE_CHUNK // max(1, item_factors.shape[0]))
        for start in range(0, seen.size, chunk):
            rows = seen[start : start + chunk]
            scores = user_factors[users[rows]] @ item_factors.T
            if exclude is not None:
                scores[:, exclude] = -np.inf
            if self.filter_liked:
                row, item = liked.pairs(users[rows])
                scores[row, item] = -np.inf
            out_items[rows], out_scores[rows] = top_k_wide(scores, k)
        cold = np.flatnonzero(~known[users])
        if cold.size:
            out_items[cold], out_scores[cold] = self.fallback.recommend(users[cold], k, exclude)
        return out_items, out_scores

    def save(self, folder: str | Path) -> None:
        """Factors, known users, liked pairs and the fallback as safetensors + JSON under ``folder``."""
        user_factors, item_factors, known, liked = self._fitted()
        arrays: dict[str, npt.NDArray[Any]] = {
            "user_factors": user_factors,
            "item_factors": item_factors,
            "known": known.astype(np.uint8),
            "liked_keys": liked.keys,
        }
        params = {
            "kind": type(self).__name__,
            "name": self.name,
            "n_items": liked.n_items,
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "filter_liked": self.filter_liked,
            "random_state": self.random_state,
            "num_threads": self.num_threads,
            "half_life_days": self.fallback.half_life_days,
        }
        save_artifact(folder, arrays, params)
        self.fallback.save(Path(folder) / "fallback")

    @classmethod
    def load(cls, folder: str | Path) -> ALSRecommender:
        arrays, params = load_artifact(folder, cls.__name__)
        names = ("factors", "regularization", "alpha", "iterations", "filter_liked", "random_state")
        model = cls(**{n: params[n] for n in names}, num_threads=params["num_threads"],
                    half_life_days=params["half_life_days"])  # fmt: skip
        model.user_factors = arrays["user_factors"]
        model.item_factors = arrays["item_factors"]
        model.known = arrays["known"].astype(bool)
        model.liked = UserItems(arrays["liked_keys"], int(params["n_items"]))
        model.fallback = GlobalPopularity.load(Path(folder) / "fallback")
        return model
