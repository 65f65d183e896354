"""The recommendation dataset: validated tables as contiguous integer indices.

Every recommender, baseline and evaluator works on :class:`RecsData`, built once per run
from the validated lake. String ids become row numbers of a :class:`Vocabulary`
(``items.ids[i]`` is the product of item index ``i``), so models use plain numpy
arrays and embeddings tables, and only the edges translate back to product ids.

Interactions are the user's own actions on products (SPEC §1 ``events``), with a
strength per event type; impressions (``view`` events) are kept apart because they are
exposures, not preferences: the ranker needs them as shown-not-clicked negatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings
from vitrina.core.evaluation.split import TemporalSplit
from vitrina.core.tables import EVENT_TYPES

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

EVENT_CODE = {name: code for code, name in enumerate(EVENT_TYPES)}  # view 0 … purchase 3
# Implicit-feedback strength of one event (a click is a weak positive, a purchase a strong one).
EVENT_WEIGHT = np.array([0.0, 1.0, 2.0, 4.0])
# Graded relevance of a held-out event for offline evaluation (best event per user-item wins).
EVENT_GAIN = np.array([0.0, 1.0, 1.0, 2.0])
CATALOG_COLUMNS = [
    "product_id",
    "title",
    "category_l1",
    "category_l2",
    "category_l3",
    "brand",
    "price",
    "cost",
    "stock",
    "seller_id",
    "created_at",
    "is_sponsored",
    "is_reported",
]


@dataclass(frozen=True)
class Vocabulary:
    """Sorted unique string ids and their row numbers."""

    ids: npt.NDArray[np.str_]

    @classmethod
    def of(cls, values: Sequence[str] | npt.NDArray[np.object_] | pd.Series) -> Vocabulary:
        return cls(np.unique(np.asarray(values, dtype=str)))

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, values: Sequence[str] | npt.ArrayLike) -> IntArray:
        """Row numbers of ``values``; -1 for ids not in the vocabulary."""
        wanted = np.asarray(values, dtype=str)
        if len(self.ids) == 0:
            return np.full(wanted.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.ids, wanted)
        pos = np.minimum(pos, len(self.ids) - 1)
        return np.where(self.ids[pos] == wanted, pos, -1).astype(np.int64)


@dataclass(frozen=True)
class Interactions:
    """Events as parallel arrays sorted by time. ``event`` codes follow ``EVENT_CODE``."""

    user: IntArray
    item: IntArray
    event: IntArray
    ts_us: IntArray
    session: IntArray
    position: IntArray  # 1-based list position; 0 when the event did not come from a list
    page: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return len(self.user)

    def take(self, mask: npt.NDArray[np.bool_]) -> Interactions:
        return Interactions(
            user=self.user[mask],
            item=self.item[mask],
            event=self.event[mask],
            ts_us=self.ts_us[mask],
            session=self.session[mask],
            position=self.position[mask],
            page=self.page[mask],
        )

    def before(self, ts_us: int) -> Interactions:
        """Events strictly before ``ts_us`` (point-in-time views never look ahead)."""
        return self.take(self.ts_us < ts_us)

    def between(self, start_us: int, end_us: int) -> Interactions:
        return self.take((self.ts_us >= start_us) & (self.ts_us < end_us))

    def positives(self) -> Interactions:
        """Clicks, add-to-carts and purchases: the user's own choices."""
        return self.take(self.event > EVENT_CODE["view"])

    def impressions(self) -> Interactions:
        return self.take(self.event == EVENT_CODE["view"])


@dataclass(frozen=True)
class RecsData:
    """Everything a recommender trains and is evaluated on, aligned to the vocabularies.

    ``catalog`` row ``i`` describes item ``i``; ``users`` row ``u`` describes user ``u``.
    ``split`` cuts ``interactions`` by time (train < valid < test, never random).
    """

    items: Vocabulary
    users: Vocabulary
    catalog: pd.DataFrame
    user_table: pd.DataFrame
    interactions: Interactions
    split: TemporalSplit

    @property
    def train_end_us(self) -> int:
        return _micros(self.split.train_end)

    @property
    def valid_end_us(self) -> int:
        return _micros(self.split.valid_end)

    def part(self, name: str) -> Interactions:
        """The interactions of ``train``, ``valid`` or ``test``."""
        ts = self.interactions.ts_us
        if name == "train":
            return self.interactions.take(ts < self.train_end_us)
        if name == "valid":
            return self.interactions.take((ts >= self.train_end_us) & (ts < self.valid_end_us))
        if name == "test":
            return self.interactions.take(ts >= self.valid_end_us)
        raise ValueError(f"part must be train, valid or test, got {name!r}")

    @property
    def item_category(self) -> IntArray:
        """Category code (L2) of every item, for diversity and MMR."""
        return np.asarray(pd.factorize(self.catalog["category_l2"])[0], dtype=np.int64)

    @property
    def servable(self) -> npt.NDArray[np.bool_]:
        """Items that may be recommended at all: in stock and not reported."""
        return np.asarray((self.catalog["stock"] > 0) & ~self.catalog["is_reported"], dtype=bool)


def _micros(value: object) -> int:
    return int(pd.Timestamp(value).value // 1000)  # type: ignore[arg-type]


def to_micros(values: pd.Series) -> IntArray:
    """Epoch microseconds (UTC) of a timestamp column, whatever its pandas unit."""
    return np.asarray(pd.to_datetime(values, utc=True).dt.as_unit("us").astype("int64"), dtype=np.int64)


def build_recs_data(
    catalog: pd.DataFrame, users: pd.DataFrame, events: pd.DataFrame, split: TemporalSplit | None = None
) -> RecsData:
    """Index canonical frames. Events of unknown users or products are dropped (contracts
    already quarantine them; this only guards hand-made inputs). Default split: the last
    7 days test, the 7 before validation.
    """
    items = Vocabulary.of(catalog["product_id"])
    user_vocab = Vocabulary.of(users["user_id"])
    catalog = catalog.set_index("product_id").loc[list(items.ids)].reset_index()
    users = users.set_index("user_id").loc[list(user_vocab.ids)].reset_index()
    user = user_vocab.index(events["user_id"].to_numpy())
    item = items.index(events["product_id"].to_numpy())
    known = (user >= 0) & (item >= 0)
    events = events.loc[known]
    ts_us = to_micros(events["ts"])
    order = np.argsort(ts_us, kind="stable")
    sessions = pd.factorize(events["session_id"])[0]
    position = np.asarray(events["position"].fillna(0), dtype=np.int64)
    interactions = Interactions(
        user=user[known][order],
        item=item[known][order],
        event=np.asarray(events["event_type"].map(EVENT_CODE), dtype=np.int64)[order],
        ts_us=ts_us[order],
        session=np.asarray(sessions, dtype=np.int64)[order],
        position=position[order],
        page=events["page"].to_numpy(dtype=str)[order],
    )
    if split is None:
        split = TemporalSplit.trailing(events, column="ts")
    return RecsData(items, user_vocab, catalog, users, interactions, split)


def load_recs_data(settings: Settings, split: TemporalSplit | None = None) -> RecsData:
    """Read the validated catalog, users and events through DuckDB and index them."""
    with Warehouse.from_settings(settings, persistent=False) as warehouse:
        catalog = warehouse.df(f"SELECT {', '.join(CATALOG_COLUMNS)} FROM catalog")
        users = warehouse.df("SELECT * FROM users")
        events = warehouse.df(
            "SELECT user_id, product_id, event_type, ts, session_id, page, position FROM events"
        )
    if events.empty:
        raise ValueError("no validated events: run `vitrina data validate` first")
    catalog["is_reported"] = catalog["is_reported"].fillna(False).astype(bool)
    return build_recs_data(catalog, users, events, split)
