"""The recommendation dataset: validated tables as contiguous integer indices.

Every recommender, baseline and evaluator works on :class:`RecsData`, built once per run
from the frames of the validated lake (the caller reads them; this module never touches
storage). String ids become row numbers of a :class:`Vocabulary` (``items.ids[i]`` is the
product of item index ``i``), so models use plain numpy arrays and embeddings tables, and
only the edges translate back to product ids.

Interactions are the user's own actions on products (docs/spec.md §1 ``events``), with a
strength per event type; impressions (``view`` events) are kept apart because they are
exposures, not preferences: the ranker needs them as shown-not-clicked negatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.evaluation.split import TemporalSplit
from vitrina.core.ranking.interactions import EVENT_CODE, IntArray, Interactions, Vocabulary
from vitrina.core.recs.heldout_windows import heldout_split
from vitrina.core.tables import EVENT_TYPES

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


def index_tables(
    catalog: pd.DataFrame, users: pd.DataFrame
) -> tuple[Vocabulary, Vocabulary, pd.DataFrame, pd.DataFrame]:
    """The item and user vocabularies and the catalog and user rows in vocabulary order."""
    items = Vocabulary.of(catalog["product_id"])
    user_vocab = Vocabulary.of(users["user_id"])
    catalog = catalog.set_index("product_id").loc[list(items.ids)].reset_index()
    users = users.set_index("user_id").loc[list(user_vocab.ids)].reset_index()
    return items, user_vocab, catalog, users


def default_split(interactions: Interactions) -> TemporalSplit:
    """The held-out windows of :func:`~vitrina.core.recs.heldout_windows.heldout_split` for
    coded interactions: it counts users and positive events, so codes stand in for ids."""
    frame = pd.DataFrame(
        {
            "user_id": interactions.user,
            "event_type": np.asarray(EVENT_TYPES, dtype=object)[interactions.event],
            "ts": pd.to_datetime(interactions.ts_us, unit="us", utc=True),
        }
    )
    return heldout_split(frame, column="ts")


def build_recs_data(
    catalog: pd.DataFrame, users: pd.DataFrame, events: pd.DataFrame, split: TemporalSplit | None = None
) -> RecsData:
    """Index canonical frames. Events of unknown users or products are dropped (contracts
    already quarantine them; this only guards hand-made inputs). Default split: the last
    7 days test, the 7 before validation, wider when a week holds too few users
    (:func:`default_split`).

    For frames already in memory (hand-made inputs, small tables); the validated lake is
    coded inside the query engine instead (``adapters.lake.recs_tables.read_recs_data``),
    so its string columns never become Python objects.
    """
    items, user_vocab, catalog, users = index_tables(catalog, users)
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
        split = default_split(interactions)
    return RecsData(items, user_vocab, catalog, users, interactions, split)
