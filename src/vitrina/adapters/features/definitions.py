"""The one list of recommendation features (docs/spec.md §3.1): names, entity, window, meaning.

Features are grouped in four *frames*, each a table keyed by its entity columns plus
``as_of``, the cutoff the row is computed at. A row as of ``t`` uses only events with
``ts < t`` (point-in-time correct), so a training example labelled by what happened after
``t`` never sees its own future.

* ``user`` (``user_id``): activity, CTR, RFM, average ticket, cyclic time of the cutoff.
* ``item`` (``product_id``): popularity of the last 24 h / 7 d, price, category, stock,
  margin, freshness, CTR.
* ``user_category`` (``user_id``, ``category_l1``): the user's CTR per top-level category
  over 7/14/30 days, in *long* form — one row per category the user was shown in the last
  30 days. Why long rather than one column per L1: the ranker joins it on the candidate's
  category ("this user's CTR in *this* item's category"), and it works for any taxonomy a
  user brings (the simulator has 9 L1s, real shops have dozens) without a schema change.
* ``user_affinity`` (``user_id``, ``category_l2``): the share of the user's positive events
  (click 1, add-to-cart 2, purchase 4, each decayed with a 7-day half-life) that fell in a
  second-level category over the last 30 days: the user × category cross feature.

Two features are not computed in SQL because they need trained vectors; the pipeline
computes them from Item2Vec item vectors (:mod:`vitrina.adapters.features.embeddings`):
``session_embedding`` and ``user_item_cosine`` (see :data:`PIPELINE_FEATURES`).

Absent rows mean "no activity": a user with no event in the last
:data:`RECENCY_HORIZON_DAYS` has no ``user`` row; a (user, category) pair the user was not
shown in 30 days has no ``user_category`` row. Consumers fill counts with 0 and leave rates
null. Catalog attributes (price, cost, stock, categories) come from the validated catalog,
which holds the latest version of each product only: they are *current* values, not the
values at ``as_of`` (the lake keeps no catalog history); products created after ``as_of``
are left out and ``freshness_days`` is measured at ``as_of``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from vitrina.core.tables import TS

DType = Literal["float64", "int64", "string"]

CTR_WINDOWS_DAYS = (7, 14, 30)
"""Windows of the user CTR features (docs/spec.md §3.1)."""
ACTIVITY_WINDOW_DAYS = 30
"""Window of frequency, monetary, average ticket and affinity."""
RECENCY_HORIZON_DAYS = 90
"""How far back ``user_recency_days`` looks; older users have no row (lapsed or new)."""
ITEM_WINDOWS_DAYS = (1, 7)
"""Item popularity windows: the last 24 h and 7 days."""
AFFINITY_HALF_LIFE_DAYS = 7.0
"""An event this many days old weighs half as much in ``user_l2_affinity_30d``."""
POSITIVE_WEIGHT = {"click": 1.0, "add_to_cart": 2.0, "purchase": 4.0}
"""Strength of a positive event in the affinity (same scale as ``recs.data.EVENT_WEIGHT``)."""

_ARROW_TYPES: dict[DType, pa.DataType] = {"float64": pa.float64(), "int64": pa.int64(), "string": pa.string()}


@dataclass(frozen=True)
class Feature:
    """One feature column.

    ``window_days`` is the look-back the value aggregates over (None: not windowed, e.g.
    a catalog attribute or the cutoff's hour); ``unit`` says how to read the number.
    """

    name: str
    dtype: DType
    window_days: float | None
    unit: str
    description: str


@dataclass(frozen=True)
class FeatureFrame:
    """A feature table: key columns, then ``as_of``, then the features, in this order.

    ``entities`` names the Feast entity of each key column (same order as ``keys``).
    """

    name: str
    keys: tuple[str, ...]
    entities: tuple[str, ...]
    features: tuple[Feature, ...]
    description: str

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def columns(self) -> list[str]:
        return [*self.keys, "as_of", *self.feature_names]

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema every engine's output is cast to (``as_of`` is µs UTC)."""
        fields = [pa.field(key, pa.string(), nullable=False) for key in self.keys]
        fields.append(pa.field("as_of", TS, nullable=False))
        fields.extend(pa.field(f.name, _ARROW_TYPES[f.dtype]) for f in self.features)
        return pa.schema(fields)


ENTITY_KEYS: dict[str, str] = {
    "user": "user_id",
    "product": "product_id",
    "category": "category_l1",
    "subcategory": "category_l2",
}
"""Feast entity name → join key column."""


def _counts(prefix: str, what: str, event: str, windows: tuple[int, ...], label: str) -> list[Feature]:
    return [
        Feature(f"{prefix}_{what}_{_window_label(w)}", "int64", w, "events", f"{label} {event} events")
        for w in windows
    ]


def _window_label(days: float) -> str:
    return "24h" if days == 1 else f"{int(days)}d"


def _ctrs(prefix: str, windows: tuple[int, ...], scope: str) -> list[Feature]:
    return [
        Feature(
            f"{prefix}_ctr_{_window_label(w)}",
            "float64",
            w,
            "ratio",
            f"clicks / impressions {scope} (null without impressions; may exceed 1 when clicks "
            "come from pages that log no impression)",
        )
        for w in windows
    ]


_DAY = 86_400.0
_CYCLIC = [
    Feature("user_hour_sin", "float64", None, "[-1, 1]", "sin(2π · hour of as_of (UTC) / 24)"),
    Feature("user_hour_cos", "float64", None, "[-1, 1]", "cos(2π · hour of as_of (UTC) / 24)"),
    Feature("user_dow_sin", "float64", None, "[-1, 1]", "sin(2π · weekday of as_of (Mon 0, UTC) / 7)"),
    Feature("user_dow_cos", "float64", None, "[-1, 1]", "cos(2π · weekday of as_of (Mon 0, UTC) / 7)"),
]

USER = FeatureFrame(
    name="user",
    keys=("user_id",),
    entities=("user",),
    description="One row per user with at least one event in the 90 days before as_of.",
    features=(
        *_ctrs("user", CTR_WINDOWS_DAYS, "over all categories"),
        Feature("user_impressions_30d", "int64", 30, "events", "impressions (view events) shown"),
        Feature("user_clicks_30d", "int64", 30, "events", "clicks"),
        Feature("user_carts_30d", "int64", 30, "events", "add-to-cart events"),
        Feature("user_purchases_30d", "int64", 30, "events", "purchase events"),
        Feature("user_events_30d", "int64", 30, "events", "frequency: all events incl. impressions"),
        Feature("user_recency_days", "float64", RECENCY_HORIZON_DAYS, "days", "days since the last event"),
        Feature("user_monetary_30d", "float64", 30, "currency", "monetary: transaction amount"),
        Feature("user_orders_30d", "int64", 30, "orders", "distinct orders"),
        Feature("user_avg_ticket_30d", "float64", 30, "currency", "amount / orders (null without orders)"),
        *_CYCLIC,
    ),
)

ITEM = FeatureFrame(
    name="item",
    keys=("product_id",),
    entities=("product",),
    description="One row per catalog product created before as_of (or with no created_at).",
    features=(
        *_counts("item", "views", "view (impression)", ITEM_WINDOWS_DAYS, "item"),
        *_counts("item", "clicks", "click", ITEM_WINDOWS_DAYS, "item"),
        *_counts("item", "purchases", "purchase", ITEM_WINDOWS_DAYS, "item"),
        *_ctrs("item", (7,), "of the product"),
        Feature("item_price", "float64", None, "currency", "current price"),
        Feature("item_log_price", "float64", None, "log(currency)", "ln(1 + price)"),
        Feature("item_stock", "int64", None, "units", "current stock"),
        Feature("item_margin", "float64", None, "ratio", "(price − cost) / price; null without cost"),
        Feature("item_freshness_days", "float64", None, "days", "days from created_at to as_of"),
        Feature("item_category_l1", "string", None, "label", "top-level category"),
        Feature("item_category_l2", "string", None, "label", "second-level category"),
        Feature("item_category_l3", "string", None, "label", "third-level category"),
        Feature("item_category_l1_code", "int64", None, "code", "0-based rank of L1 among catalog L1s"),
        Feature("item_category_l2_code", "int64", None, "code", "0-based rank of L2 among catalog L2s"),
        Feature("item_category_l3_code", "int64", None, "code", "0-based rank of L3 among catalog L3s"),
    ),
)

USER_CATEGORY = FeatureFrame(
    name="user_category",
    keys=("user_id", "category_l1"),
    entities=("user", "category"),
    description="One row per (user, L1) with at least one event of the user in that L1 in 30 days.",
    features=(
        *_counts("user_cat", "impressions", "view (impression)", CTR_WINDOWS_DAYS, "the user's"),
        *_counts("user_cat", "clicks", "click", CTR_WINDOWS_DAYS, "the user's"),
        *_ctrs("user_cat", CTR_WINDOWS_DAYS, "of the user in this L1"),
    ),
)

USER_AFFINITY = FeatureFrame(
    name="user_affinity",
    keys=("user_id", "category_l2"),
    entities=("user", "subcategory"),
    description="One row per (user, L2) with at least one positive event of the user there in 30 days.",
    features=(
        Feature("user_l2_positives_30d", "int64", 30, "events", "clicks + add-to-carts + purchases"),
        Feature(
            "user_l2_weight_30d",
            "float64",
            30,
            "weighted events",
            "Σ weight · 2^(−age_days / 7) over the user's positive events in this L2",
        ),
        Feature(
            "user_l2_affinity_30d",
            "float64",
            30,
            "share",
            "user_l2_weight_30d / the user's total over all L2s (sums to 1 per user and as_of)",
        ),
    ),
)

FRAMES: dict[str, FeatureFrame] = {f.name: f for f in (USER, ITEM, USER_CATEGORY, USER_AFFINITY)}

PIPELINE_FEATURES: tuple[Feature, ...] = (
    Feature(
        "user_session_embedding",
        "float64",
        ACTIVITY_WINDOW_DAYS,
        "vector",
        "mean Item2Vec vector of the items the user acted on in their last session before as_of "
        "(items from features.engine last_session_items; vectors from the trained Item2Vec)",
    ),
    Feature(
        "user_item_cosine",
        "float64",
        None,
        "[-1, 1]",
        "cosine between user_session_embedding and the candidate's Item2Vec vector",
    ),
)
"""Features the pipeline computes from trained vectors (hooks; not in the SQL frames)."""

DECAY_PER_DAY = math.log(2.0) / AFFINITY_HALF_LIFE_DAYS
SECONDS_PER_DAY = _DAY


def all_features() -> list[tuple[str, Feature]]:
    """Every feature with its frame name (the data dictionary), pipeline hooks last."""
    rows = [(frame.name, f) for frame in FRAMES.values() for f in frame.features]
    rows.extend(("pipeline", f) for f in PIPELINE_FEATURES)
    return rows
