"""The discover list: a served policy's lists without anything the user already bought.

A marketplace shows "discover" beside "buy again"; the first must never repeat the second.
:class:`NewToUser` wraps a served model and removes each user's past purchases from its lists,
asking it for as many more items as the user bought so that no list runs short (the
evaluation's discovery view removes the same items the same way, so what is chosen on that view
is what this list serves). Users are asked in groups of similar purchase counts: a wholesaler
with a thousand past products must not make every row of the batch a thousand items deep.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.policy import ObjectArray, ServedModel
from vitrina.core.recs.user_items import UserItems

BoolArray = npt.NDArray[np.bool_]


class NewToUser:
    """``model``'s lists with each user's ``bought`` items removed (a :class:`ServedModel`)."""

    name = "discover"

    def __init__(self, model: ServedModel, bought: UserItems) -> None:
        self.model = model
        self.bought = bought

    def recommend_with_reasons(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray, ObjectArray]:
        users = np.asarray(users, dtype=np.int64)
        items = np.full((users.size, k), PAD, dtype=np.int64)
        scores = np.full((users.size, k), -np.inf)
        reasons = np.full((users.size, k), "", dtype=object)
        if users.size == 0:
            return items, scores, reasons
        # depth k + purchases, rounded up to a power of two: a handful of groups per batch
        depth = k + self.bought.count(users)
        group = np.ceil(np.log2(np.maximum(depth, 1))).astype(np.int64)
        for level in np.unique(group):
            rows = np.flatnonzero(group == level)
            got, got_scores, got_reasons = self.model.recommend_with_reasons(
                users[rows], int(2**level), exclude
            )
            got = np.asarray(got, dtype=np.int64)
            drop = self.bought.contains(users[rows], got) | (got == PAD)
            order = np.argsort(drop, axis=1, kind="stable")[:, :k]
            width = order.shape[1]
            kept = ~np.take_along_axis(drop, order, axis=1)
            items[rows, :width] = np.where(kept, np.take_along_axis(got, order, axis=1), PAD)
            scores[rows, :width] = np.where(
                kept, np.take_along_axis(np.asarray(got_scores, dtype=np.float64), order, axis=1), -np.inf
            )
            reasons[rows, :width] = np.where(
                kept, np.take_along_axis(np.asarray(got_reasons, dtype=object), order, axis=1), ""
            )
        return items, scores, reasons

    def recommend(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        items, scores, _ = self.recommend_with_reasons(users, k, exclude)
        return items, scores
