"""Per-user item sets (what each user bought, liked, …) as sorted integer keys, and the
removal of a set's members from ranked lists: shared by baselines and evaluation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.tables import EVENT_TYPES

BoolArray = npt.NDArray[np.bool_]
PURCHASE = EVENT_TYPES.index("purchase")


@dataclass(frozen=True)
class UserItems:
    """A set of items per user (e.g. what each user bought), as sorted ``user * n_items + item`` keys.

    Built once from long arrays; membership of a whole ranked matrix is one ``searchsorted``.
    """

    keys: IntArray
    n_items: int

    @classmethod
    def of(cls, users: IntArray, items: IntArray, n_items: int) -> UserItems:
        return cls(np.unique(np.asarray(users, np.int64) * n_items + np.asarray(items, np.int64)), n_items)

    @classmethod
    def purchases(cls, history: Interactions, n_items: int) -> UserItems:
        """Items each user purchased in ``history``."""
        bought = history.event == PURCHASE
        return cls.of(history.user[bought], history.item[bought], n_items)

    @classmethod
    def seen(cls, history: Interactions, n_items: int) -> UserItems:
        """Items each user had any event on in ``history`` (looked at, chose or bought)."""
        return cls.of(history.user, history.item, n_items)

    @classmethod
    def hidden(cls, history: Interactions, n_items: int, hide_seen: bool) -> UserItems:
        """What the discover list leaves out: everything seen with ``hide_seen``
        (:mod:`vitrina.core.recs.seen_items`), else the purchases."""
        return cls.seen(history, n_items) if hide_seen else cls.purchases(history, n_items)

    def contains(self, users: IntArray, ranked: IntArray) -> BoolArray:
        """``(n, k)`` mask: ``ranked[r, j]`` is in the set of ``users[r]`` (padding never is)."""
        keys = np.asarray(users, np.int64)[:, None] * self.n_items + ranked
        if self.keys.size == 0:
            return np.zeros(ranked.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        return np.asarray((self.keys[pos] == keys) & (ranked != PAD), dtype=bool)

    def count(self, users: IntArray) -> IntArray:
        """Number of items in the set of each user."""
        users = np.asarray(users, np.int64)
        lo = np.searchsorted(self.keys, users * self.n_items)
        hi = np.searchsorted(self.keys, (users + 1) * self.n_items)
        return np.asarray(hi - lo, dtype=np.int64)

    def pairs(self, users: IntArray) -> tuple[IntArray, IntArray]:
        """``(row, item)`` of every member, ``row`` indexing ``users``."""
        users = np.asarray(users, np.int64)
        lo = np.searchsorted(self.keys, users * self.n_items)
        hi = np.searchsorted(self.keys, (users + 1) * self.n_items)
        sizes = hi - lo
        rows = np.repeat(np.arange(users.size, dtype=np.int64), sizes)
        starts = np.repeat(lo - np.cumsum(sizes) + sizes, sizes)
        keys = self.keys[starts + np.arange(rows.size, dtype=np.int64)]
        return rows, keys % self.n_items


def drop_members(
    items: IntArray, scores: FloatArray, users: IntArray, members: UserItems, k: int
) -> tuple[IntArray, FloatArray]:
    """Remove each row's members of ``members`` from a ranked matrix, keep order, cut to ``k``.

    Rows are compacted to the left and padded with ``PAD`` / ``-inf``: ask the model for
    ``k + members.count(users).max()`` items so that no row runs short.
    """
    drop = members.contains(users, items) | (items == PAD)
    order = np.argsort(drop, axis=1, kind="stable")[:, :k]
    kept = np.take_along_axis(items, order, axis=1)
    top = np.take_along_axis(scores, order, axis=1).astype(np.float64)
    gone = np.take_along_axis(drop, order, axis=1)
    kept[gone] = PAD
    top[gone] = -np.inf
    if kept.shape[1] < k:
        kept = np.pad(kept, ((0, 0), (0, k - kept.shape[1])), constant_values=PAD)
        top = np.pad(top, ((0, 0), (0, k - top.shape[1])), constant_values=-np.inf)
    return kept, top
