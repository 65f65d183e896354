"""The ranker's feature frames as of one cutoff, keyed by user and item index.

:class:`RankingFeatures` holds frames already computed (by the feature store, outside the
core) and re-keyed to the indices of :class:`~vitrina.core.recs.dataset.RecsData`; it only
adds the per-pair cross features the SQL leaves as hooks (the user's affinity to the item's
L2 category looked up per pair, and the user–item Item2Vec cosine). Keeping it a plain value
lets :class:`~vitrina.core.recs.full.FullRecommender` score candidates without knowing where
the features came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.interactions import FloatArray, IntArray


@dataclass(frozen=True)
class RankingFeatures:
    """User and item features (indexed by user / item index) and per-pair cross features."""

    user: pd.DataFrame
    item: pd.DataFrame
    affinity: pd.DataFrame  # index user idx · n_l2 + L2 code → affinity columns
    item_l2: IntArray
    n_l2: int
    user_vectors: npt.NDArray[np.float32]  # Item2Vec profiles, unit rows (zero if unknown)
    item_vectors: npt.NDArray[np.float32]  # Item2Vec item vectors, unit rows

    def cross(self, users: IntArray, items: IntArray) -> pd.DataFrame:
        """One row per (users[i], items[i]): L2 affinity columns and Item2Vec cosine."""
        keys = users * self.n_l2 + self.item_l2[items]  # one int64 key: a fast hash lookup
        cross = self.affinity.reindex(keys).reset_index(drop=True).fillna(0.0)
        cosine: FloatArray = np.einsum("nd,nd->n", self.user_vectors[users], self.item_vectors[items]).astype(
            np.float64
        )
        cross["user_item_i2v_cosine"] = cosine
        return cross
