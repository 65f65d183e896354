"""Interaction logs as integer arrays: the id vocabularies and the time-sorted events both the
recommenders and the rankers read (recs and search share them from here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.tables import EVENT_TYPES

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

EVENT_CODE = {name: code for code, name in enumerate(EVENT_TYPES)}  # view 0 … purchase 3
# Implicit-feedback strength of one event (a click is a weak positive, a purchase a strong one).
EVENT_WEIGHT = np.array([0.0, 1.0, 2.0, 4.0])
# Graded relevance of a held-out event for offline evaluation (best event per user-item wins).
EVENT_GAIN = np.array([0.0, 1.0, 1.0, 2.0])


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
