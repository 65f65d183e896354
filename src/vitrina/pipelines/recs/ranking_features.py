"""Ranker inputs as of one cutoff: the feature store's frames keyed by user/item index,
plus the cross features of (user, candidate) pairs.

The frames come from the configured feature engine (DuckDB or Spark, the one definition
of every feature); this module only re-keys them by the indices of
:class:`~vitrina.core.recs.dataset.RecsData` into a
:class:`~vitrina.core.recs.ranking_features.RankingFeatures`, which adds the two cross
features the SQL leaves as hooks (user–item Item2Vec cosine, and the user's affinity to the
item's L2 category looked up per pair).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.bootstrap import compute_features_configured
from vitrina.config import Settings
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ranking_features import RankingFeatures

# Item counts measure what the logging policy chose to show (popularity-biased by design)
# as much as what users want: clicks and purchases scale with exposure. A ranker fed them
# learns to replay the policy, so it sees rates (CTR) instead. User-side counts stay: they
# describe the user, not which items were pushed.
EXPOSURE_FEATURES = [
    *("item_views_24h", "item_views_7d", "item_clicks_24h", "item_clicks_7d"),
    *("item_purchases_24h", "item_purchases_7d", "user_impressions_30d", "user_events_30d"),
]


def _numeric(frame: pd.DataFrame, drop: list[str]) -> pd.DataFrame:
    """Keep the model's numeric columns (categories are present as integer codes)."""
    kept = frame.drop(columns=[c for c in [*drop, *EXPOSURE_FEATURES] if c in frame.columns])
    return kept.select_dtypes(include=["number", "bool"]).astype("float64")


def _unit(vectors: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def ranking_features(
    settings: Settings,
    data: RecsData,
    cutoff_us: int,
    user_vectors: npt.NDArray[np.floating],
    item_vectors: npt.NDArray[np.floating],
) -> RankingFeatures:
    """Compute every feature frame as of ``cutoff_us`` (events strictly before it)."""
    cutoff = dt.datetime.fromtimestamp(cutoff_us / 1e6, tz=dt.UTC)
    tables = compute_features_configured(settings, [cutoff], frames=["user", "item", "user_affinity"])
    user = tables["user"].to_pandas()
    user.index = pd.Index(data.users.index(user["user_id"].to_numpy()), name="user")
    item = tables["item"].to_pandas()
    item.index = pd.Index(data.items.index(item["product_id"].to_numpy()), name="item")
    affinity = tables["user_affinity"].to_pandas()
    l2_names = pd.Index(pd.unique(data.catalog["category_l2"]))
    n_l2 = len(l2_names)
    affinity.index = pd.Index(
        data.users.index(affinity["user_id"].to_numpy()) * n_l2
        + l2_names.get_indexer(pd.Index(affinity["category_l2"]))
    )
    return RankingFeatures(
        user=_numeric(user[user.index >= 0], ["as_of"]),
        item=_numeric(item[item.index >= 0], ["as_of"]),
        affinity=_numeric(affinity, ["as_of"]).add_prefix("cross_"),
        item_l2=np.asarray(l2_names.get_indexer(pd.Index(data.catalog["category_l2"])), dtype=np.int64),
        n_l2=n_l2,
        user_vectors=_unit(user_vectors),
        item_vectors=_unit(item_vectors),
    )
