"""The full "Para ti" model (docs/spec.md §3): candidates → LambdaRank → business rules → MMR,
and cold start for users with few interactions.

Candidates are the union of the two-tower's nearest items (FAISS) and, when given, ALS's
top items: two sources that fail differently (the towers generalise through features,
ALS memorises co-consumption), de-duplicated per user. Every candidate is then described
by both scores (two-tower cosine as ``retrieval_score``, ALS dot product as a cross
feature), so the ranker learns how much to trust each source.

MMR diversifies the head of the list below its first ``mmr_keep`` slots: those keep the
ranker's order, and MMR picks the rest of the first ``mmr_depth`` slots from the ranker's
``mmr_pool`` best, penalising what is already above; the tail keeps the ranker's order.
Users see a varied TOP-20 while the few slots that hold most of the list's value stay the
ranker's best (on the demo, λ = 0.7 over the whole head cost 2 % of held-out and 4 % of
true-utility NDCG@10; keeping the top 3 cost < 1 % and 1.4 %, and lifts diversity@10 from
0.20 without MMR to 0.26; ADR-0012).

The stages can be switched off (``als=None``, ``ranker=None``, ``mmr_lambda=None``) so
the ablations of the evaluation are the same object with fewer parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.ann import AnnIndex
from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.ranking.top_k import PAD
from vitrina.core.ranking.training_set import RETRIEVAL_SCORE, CandidateRows, join_features
from vitrina.core.recs.als import ALSRecommender
from vitrina.core.recs.business_rules import BusinessRules
from vitrina.core.recs.cold_start import ColdStartRecommender
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.list_features import with_list_features
from vitrina.core.recs.mmr import ItemSimilarity, mmr_rerank
from vitrina.core.recs.ranking_features import RankingFeatures
from vitrina.core.recs.two_tower.model import TwoTower

REASON_DEFAULT = "elegido para ti"
LIST_SCORES = (RETRIEVAL_SCORE, "als_score", "user_item_i2v_cosine")
"""Scores whose rank and gap within the candidate list are ranker features."""
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
    n_candidates: int = 100
    als: ALSRecommender | None = None
    n_als_candidates: int = 50
    mmr_depth: int = 20
    mmr_pool: int = 50
    mmr_keep: int = 3
    predict_threads: int = 0  # LightGBM threads at inference (0 = every core)
    name: str = "full"
    _als_index: AnnIndex | None = field(default=None, init=False, repr=False)

    def fit(self, data: RecsData, history: Interactions) -> FullRecommender:
        """Refresh the stages that depend on history (candidate bags, rules, cold start);
        trained weights and the ranking features stay as they were built."""
        self.candidates.update_history(history)
        self.rules = BusinessRules.build(data.catalog, history, self.rules.config)
        if self.cold_start is not None:
            self.cold_start.fit(data, history)
        return self

    def recommend(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray]:
        items, scores, _ = self.recommend_with_reasons(users, k, exclude)
        return items, scores

    def recommend_with_reasons(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray, ObjectArray]:
        """Lists as :meth:`recommend`, plus cold start's reasons for cold users (``""`` for
        warm users, whose reasons :func:`explain` writes from their history)."""
        users = np.asarray(users, dtype=np.int64)
        items = np.full((users.size, k), PAD, dtype=np.int64)
        scores = np.full((users.size, k), -np.inf)
        reasons = np.full((users.size, k), "", dtype=object)
        cold = self.cold_start.is_cold(users) if self.cold_start is not None else np.zeros(users.size, bool)
        warm = np.flatnonzero(~cold)
        if warm.size:
            items[warm], scores[warm] = self._warm(users[warm], k, exclude)
        if cold.any() and self.cold_start is not None:
            items[cold], scores[cold], reasons[cold] = self.cold_start.recommend_with_reasons(
                users[cold], k, exclude
            )
        return items, scores, reasons

    def candidate_matrix(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None
    ) -> tuple[IntArray, FloatArray]:
        """Union of the sources' candidates, ``(n, m)`` with ``PAD``, and their two-tower cosine."""
        vectors = self.candidates.user_embeddings(users)  # once, for retrieval and scoring
        candidates, _ = self.candidates.recommend(users, max(self.n_candidates, k), exclude, vectors)
        if self.als is not None and self.als.user_factors is not None and self.als.item_factors is not None:
            if self._als_index is None:  # exact inner-product search: ALS's top items, without a dense sort
                self._als_index = AnnIndex.build(self.als.item_factors, kind="flat")
            extra, _ = self._als_index.search(
                self.als.user_factors[users], self.n_als_candidates, exclude=exclude
            )
            candidates = union_rows(candidates, extra)
        cosine = self.candidates.score(users, np.where(candidates == PAD, 0, candidates), vectors)
        return candidates, np.where(candidates == PAD, -np.inf, cosine)

    def cross(self, users: IntArray, items: IntArray) -> pd.DataFrame:
        """Per-pair features: the feature store's cross frame plus the ALS score."""
        if self.features is None:
            raise ValueError("cross features need ranking features")
        frame = self.features.cross(users, items)
        if self.als is not None and self.als.user_factors is not None and self.als.item_factors is not None:
            frame["als_score"] = np.einsum(
                "nd,nd->n", self.als.user_factors[users], self.als.item_factors[items]
            ).astype(np.float64)
        return frame

    @staticmethod
    def with_list_features(query: IntArray, features: pd.DataFrame) -> pd.DataFrame:
        """The ranker's input: joined candidate features plus each retrieval score's rank
        and gap within its query (:mod:`~vitrina.core.recs.list_features`). Training frames and
        served candidates both go through here."""
        return with_list_features(query, features, LIST_SCORES)

    def ranker_inputs(
        self, users: IntArray, candidates: IntArray, relevance: FloatArray
    ) -> tuple[CandidateRows, pd.DataFrame]:
        """The candidate rows of ``users`` and the feature matrix the ranker scores them on
        (serving, the SHAP sample of the model card and training all see the same columns)."""
        if self.features is None:
            raise ValueError("a ranker needs ranking features")
        rows = CandidateRows.from_matrix(users, candidates, relevance)
        matrix = join_features(rows, self.features.user, self.features.item, self.cross)
        return rows, self.with_list_features(rows.query, matrix)

    def _warm(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None
    ) -> tuple[IntArray, FloatArray]:
        candidates, relevance = self.candidate_matrix(users, k, exclude)
        if self.ranker is not None:
            rows, matrix = self.ranker_inputs(users, candidates, relevance)
            relevance = rows.unflatten(self.ranker.predict(matrix, num_threads=self.predict_threads))
        candidates, relevance = self.rules.apply(users, candidates, relevance)
        order = np.argsort(-relevance, axis=1, kind="stable")
        ranked = np.take_along_axis(candidates, order, axis=1)
        ranked_scores = np.take_along_axis(relevance, order, axis=1)
        ranked[~np.isfinite(ranked_scores)] = PAD
        if self.mmr_lambda is None:
            return ranked[:, :k], ranked_scores[:, :k]
        return diversify_head(
            ranked,
            ranked_scores,
            k,
            self.similarity,
            self.mmr_lambda,
            self.mmr_depth,
            self.mmr_pool,
            keep=self.mmr_keep,
        )


def diversify_head(
    ranked: IntArray,
    scores: FloatArray,
    k: int,
    similarity: ItemSimilarity,
    lambda_: float,
    depth: int,
    pool: int,
    keep: int = 0,
) -> tuple[IntArray, FloatArray]:
    """The first ``keep`` slots of each row as ranked, then MMR picks up to slot ``depth``
    from the best ``pool`` (``ranked`` is best first, ``PAD``-padded); the other slots follow
    in ranked order, without the picks."""
    depth = min(k, depth)
    keep = min(max(keep, 0), depth)
    pool = max(pool, depth)
    picks, pick_scores = ranked[:, :0], scores[:, :0]
    if depth > keep:
        picks, pick_scores = mmr_rerank(
            ranked[:, keep:pool],
            scores[:, keep:pool],
            depth - keep,
            similarity,
            lambda_=lambda_,
            selected=ranked[:, :keep],
        )
    head = np.hstack([ranked[:, :keep], picks])
    head_scores = np.hstack([scores[:, :keep], pick_scores])
    picked = (ranked[:, :, None] == head[:, None, :]).any(axis=2) & (ranked != PAD)
    order = np.argsort(picked, axis=1, kind="stable")  # unpicked first, in ranked order
    tail = np.take_along_axis(ranked, order, axis=1)[:, : k - depth]
    tail_scores = np.take_along_axis(scores, order, axis=1)[:, : k - depth]
    tail_picked = np.take_along_axis(picked, order, axis=1)[:, : k - depth]
    tail = np.where(tail_picked, PAD, tail)
    tail_scores = np.where(tail_picked, -np.inf, tail_scores)
    return np.hstack([head, tail]), np.hstack([head_scores, tail_scores])


def union_rows(first: IntArray, second: IntArray) -> IntArray:
    """Row-wise union of two candidate matrices, ``(n, a + b)``: ``first`` keeps its order,
    items of ``second`` already in the row become ``PAD``."""
    combined = np.hstack([first, second]).astype(np.int64)
    order = np.argsort(combined, axis=1, kind="stable")  # equal items: first occurrence first
    ordered = np.take_along_axis(combined, order, axis=1)
    repeat = np.zeros_like(combined, dtype=bool)
    repeat[:, 1:] = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != PAD)
    duplicate = np.zeros_like(repeat)
    np.put_along_axis(duplicate, order, repeat, axis=1)
    return np.where(duplicate, PAD, combined)


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
    users = np.asarray(users, dtype=np.int64)
    titles = data.catalog["title"].astype(str).to_numpy(dtype=object)
    l2 = np.asarray(pd.factorize(data.catalog["category_l2"])[0], dtype=np.int64)
    n_l2 = int(l2.max()) + 1 if l2.size else 1
    positives = history.positives()
    # latest chosen item per (user, L2): a sorted key table, last occurrence wins (time order)
    keys = positives.user * n_l2 + l2[positives.item]
    last = len(keys) - 1 - np.unique(keys[::-1], return_index=True)[1]
    table_keys, table_items = keys[last], positives.item[last]
    real = items != PAD
    wanted = users[:, None] * n_l2 + l2[np.where(real, items, 0)]
    pos = np.minimum(np.searchsorted(table_keys, wanted), max(table_keys.size - 1, 0))
    seen = table_items[pos] if table_keys.size else np.full(items.shape, PAD)
    found = real & (table_keys[pos] == wanted if table_keys.size else False) & (seen != items)
    reasons = np.full(items.shape, REASON_DEFAULT, dtype=object)
    reasons[found] = "porque viste " + titles[seen[found]]
    reasons[~real] = ""
    if cold_reasons is not None:
        has = cold_reasons != ""
        reasons[has] = cold_reasons[has]
    return reasons
