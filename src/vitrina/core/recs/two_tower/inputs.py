"""Inputs of the two-tower model: feature codes, training pairs with point-in-time bags.

Categorical features become integer codes through *feature maps* (sorted category lists,
saved with the model); a value missing from the map, or null, gets code 0 ("unknown"). The
price becomes a bucket of log price, edges at catalog quantiles.

A training pair is a distinct (user, item) the user chose, weighted by the summed strength of
its events (``EVENT_WEIGHT``), at the time of its first event. Its bag holds the user's
``bag_len`` distinct items chosen *before* that item, never the item itself: with a bag
that contained the target, the model would learn to echo the bag instead of predicting.
At serving time the same rule gives the last ``bag_len`` distinct items of the history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vitrina.core.ranking.interactions import EVENT_WEIGHT, FloatArray, IntArray, Interactions
from vitrina.core.recs.two_tower.network import ITEM_FEATURES, USER_FEATURES

UNKNOWN = "∅"
PRICE_BUCKETS = 16

FeatureMaps = dict[str, list[str]]


def build_feature_maps(catalog: pd.DataFrame, users: pd.DataFrame) -> tuple[FeatureMaps, list[float]]:
    """Category lists per feature (code = position + 1; 0 = unknown) and log-price bucket edges."""
    maps: FeatureMaps = {}
    for column, frame in [*((c, users) for c in USER_FEATURES), *((c, catalog) for c in ITEM_FEATURES[:-1])]:
        maps[column] = sorted(frame[column].dropna().astype(str).unique().tolist())
    log_price = np.log(catalog["price"].to_numpy(dtype=np.float64))
    inner = np.quantile(log_price, np.linspace(0, 1, PRICE_BUCKETS + 1)[1:-1]) if len(log_price) else []
    return maps, [float(x) for x in np.unique(inner)]


def cardinality(maps: FeatureMaps, edges: list[float], feature: str) -> int:
    return len(edges) + 1 if feature == "price_bucket" else len(maps[feature]) + 1


def encode(frame: pd.DataFrame, maps: FeatureMaps, features: tuple[str, ...], edges: list[float]) -> IntArray:
    """Codes ``(len(frame), len(features))``; ``price_bucket`` is computed from ``price``."""
    columns = []
    for feature in features:
        if feature == "price_bucket":
            log_price = np.log(frame["price"].to_numpy(dtype=np.float64))
            columns.append(np.searchsorted(np.asarray(edges), log_price, side="right"))
            continue
        values = frame[feature].astype(str).where(frame[feature].notna())
        codes = pd.Index(maps[feature]).get_indexer(pd.Index(values))
        columns.append(codes + 1)  # -1 (unknown or null) becomes 0
    return np.stack(columns, axis=1).astype(np.int64) if columns else np.zeros((len(frame), 0), np.int64)


@dataclass(frozen=True)
class Pairs:
    """Distinct (user, item) positives sorted by (user, first time) and their inputs."""

    user: IntArray
    item: IntArray
    weight: FloatArray
    bags: IntArray  # (n_pairs, bag_len), items chosen before this one, most recent first

    def __len__(self) -> int:
        return len(self.user)


def _distinct_choices(history: Interactions) -> tuple[IntArray, IntArray, FloatArray]:
    """Distinct (user, item) positives sorted by (user, first event time), with summed weights."""
    events = history.positives()
    frame = pd.DataFrame(
        {"user": events.user, "item": events.item, "ts": events.ts_us, "w": EVENT_WEIGHT[events.event]}
    )
    grouped = frame.groupby(["user", "item"], sort=False).agg(ts=("ts", "min"), w=("w", "sum")).reset_index()
    grouped = grouped.sort_values(["user", "ts", "item"], kind="stable")
    return (
        grouped["user"].to_numpy(np.int64),
        grouped["item"].to_numpy(np.int64),
        grouped["w"].to_numpy(np.float64),
    )


def _previous(
    user: IntArray, item: IntArray, ends: IntArray, owner: IntArray, bag_len: int, pad: int
) -> IntArray:
    """For each ``end`` (an index into the user-sorted pairs), the up to ``bag_len`` items of
    user ``owner`` at indices ``< end``, most recent first, padded with ``pad``."""
    bags = np.full((len(ends), bag_len), pad, dtype=np.int64)
    for lag in range(1, bag_len + 1):
        source = ends - lag
        ok = (source >= 0) & (user[np.clip(source, 0, None)] == owner)
        bags[ok, lag - 1] = item[source[ok]]
    return bags


def training_pairs(history: Interactions, bag_len: int, pad: int) -> Pairs:
    """Every distinct positive of ``history`` with its point-in-time bag."""
    user, item, weight = _distinct_choices(history)
    bags = _previous(user, item, np.arange(len(user), dtype=np.int64), user, bag_len, pad)
    return Pairs(user=user, item=item, weight=weight, bags=bags)


def serving_bags(history: Interactions, n_users: int, bag_len: int, pad: int) -> IntArray:
    """``(n_users, bag_len)``: each user's last ``bag_len`` distinct chosen items (or ``pad``)."""
    user, item, _ = _distinct_choices(history)
    bags = np.full((n_users, bag_len), pad, dtype=np.int64)
    present = np.unique(user)
    ends = np.searchsorted(user, present, side="right")  # one past each user's last pair
    bags[present] = _previous(user, item, ends, present, bag_len, pad)
    return bags


def log_sampling_probability(item: IntArray, weight: FloatArray, n_items: int) -> FloatArray:
    """``(n_items,)`` log-probability that the weighted training stream draws each item
    (its share of the total pair weight); items never drawn get the smallest observed value,
    which only matters if they appear through mined hard negatives (never corrected)."""
    mass = np.bincount(item, weights=weight, minlength=n_items)
    q = mass / max(mass.sum(), 1e-12)
    floor = q[q > 0].min() if np.any(q > 0) else 1.0 / max(n_items, 1)
    return np.asarray(np.log(np.where(q > 0, q, floor)), dtype=np.float64)
