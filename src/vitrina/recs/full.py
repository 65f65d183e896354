"""The full "Para ti" model (SPEC §3): two-tower candidates → LambdaRank → business rules →
MMR, and cold start for users with few interactions.

The stages can be switched off (``ranker=None``, ``mmr_lambda=None``) so the ablations
of the evaluation (two-tower only, + ranker, + MMR) are the same object with fewer
parts, never a re-implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.recs.base import PAD
from vitrina.recs.cold_start import ColdStartRecommender
from vitrina.recs.data import FloatArray, IntArray, Interactions, RecsData
from vitrina.recs.mmr import ItemSimilarity, mmr_rerank
from vitrina.recs.ranker import LambdaRanker
from vitrina.recs.ranking_features import RankingFeatures
from vitrina.recs.rules import BusinessRules
from vitrina.recs.training_set import CandidateRows, join_features
from vitrina.recs.two_tower import TwoTower

REASON_DEFAULT = "elegido para ti"
ObjectArray = npt.NDArray[np.object_]


@dataclass
class FullRecommender:
    """Composes the fitted stages; see the module docstring. ``n_candidates`` ≥ ``k``."""

    candidates: TwoTower
    ranker: LambdaRanker | None
    features: RankingFeatures | None
    rules: BusinessRules
    cold_start: ColdStartRecommender | None
    similarity: ItemSimilarity
    mmr_lambda: float | None = 0.7
    n_candidates: int = 150
    name: str = "full"

    def fit(self, data: RecsData, history: Interactions) -> FullRecommender:
        """Refresh the stages that depend on history (candidate bags, rules, cold start);
        trained weights and the ranking features stay as they were built."""
        self.candidates.update_history(history)
        self.rules = BusinessRules.build(data.catalog, history)
        if self.cold_start is not None:
            self.cold_start.fit(data, history)
        return self

    def recommend(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray]:
        users = np.asarray(users, dtype=np.int64)
        items = np.full((users.size, k), PAD, dtype=np.int64)
        scores = np.full((users.size, k), -np.inf)
        cold = self.cold_start.is_cold(users) if self.cold_start is not None else np.zeros(users.size, bool)
        warm = np.flatnonzero(~cold)
        if warm.size:
            items[warm], scores[warm] = self._warm(users[warm], k, exclude)
        if cold.any() and self.cold_start is not None:
            items[cold], scores[cold] = self.cold_start.recommend(users[cold], k, exclude)
        return items, scores

    def _warm(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None
    ) -> tuple[IntArray, FloatArray]:
        pool = max(self.n_candidates, k)
        candidates, relevance = self.candidates.recommend(users, pool, exclude)
        if self.ranker is not None:
            if self.features is None:
                raise ValueError("a ranker needs ranking features")
            rows = CandidateRows.from_matrix(users, candidates, relevance)
            matrix = join_features(rows, self.features.user, self.features.item, self.features.cross)
            relevance = rows.unflatten(self.ranker.predict(matrix[self.ranker.feature_names]))
        candidates, relevance = self.rules.apply(users, candidates, relevance)
        if self.mmr_lambda is not None:
            return mmr_rerank(candidates, relevance, k, self.similarity, lambda_=self.mmr_lambda)
        order = np.argsort(-relevance, axis=1, kind="stable")[:, :k]
        picked = np.take_along_axis(candidates, order, axis=1)
        picked_scores = np.take_along_axis(relevance, order, axis=1)
        picked[~np.isfinite(picked_scores)] = PAD
        return picked, picked_scores


def explain(
    data: RecsData,
    history: Interactions,
    users: IntArray,
    items: IntArray,
    cold_reasons: ObjectArray | None = None,
) -> ObjectArray:
    """A short Spanish reason per recommended item, ``(n, k)``: "porque viste <title>" when
    the user recently chose a product of the same L2 category, else a generic reason;
    cold-start rows keep the reasons cold start gave."""
    reasons = np.full(items.shape, REASON_DEFAULT, dtype=object)
    titles = data.catalog["title"].astype(str).to_numpy()
    l2 = np.asarray(pd.factorize(data.catalog["category_l2"])[0], dtype=np.int64)
    positives = history.positives()
    # latest chosen item per (user, L2): later events overwrite earlier ones
    last_item: dict[tuple[int, int], int] = {}
    wanted = set(np.asarray(users).tolist())
    for user, item in zip(positives.user.tolist(), positives.item.tolist(), strict=True):
        if user in wanted:
            last_item[(user, int(l2[item]))] = item
    for row, user in enumerate(np.asarray(users).tolist()):
        for col, item in enumerate(items[row].tolist()):
            if item == PAD:
                reasons[row, col] = ""
                continue
            seen = last_item.get((user, int(l2[item])))
            if seen is not None and seen != item:
                reasons[row, col] = f"porque viste {titles[seen]}"
    if cold_reasons is not None:
        has = cold_reasons != ""
        reasons[has] = cold_reasons[has]
    return reasons
