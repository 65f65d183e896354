"""One source's lists for the last block of users, reused for any part of that block.

Batch inference publishes two lists per user (the served policy's and the discover list's,
:mod:`vitrina.core.recs.discover`), and the two policies usually share their costliest source:
the same fitted ALS or EASE (:func:`vitrina.pipelines.recs.selection.policy_sources`). Scored
block by block — a block's served lists, then its discover lists — the discover list asks that
source again for the same users (in groups of similar purchase counts) and, in a score blend,
at the same depth (``SCORE_BLEND_DEPTH``); at the large scale (200,000 products) every ask
scores each user against the whole catalog. :class:`BlockMemo` keeps the lists of the block
the source last scored and answers a later ask for some of those users, at that depth or less
and with the same exclusions, from them.

**The source rankers ask too.** A ranker (:mod:`~vitrina.core.recs.source_ranker`) takes
candidates from five sources for every user, most of its cost; the discover list's blend or
ranker usually holds some of the same fits (the full model's ALS, the chosen EASE). Each fit
gets one memo, whoever holds it. A fit a blend holds too is scored at least a score blend's
depth on every miss, so the ranker's 50 candidates and the blend's 100 come from one scoring of
the block (a deeper ask, for the few users with hundreds of purchases, is scored for them
alone); a fit only the rankers hold, at their depth.

A source scores users row by row, so the kept rows are what a fresh ask would answer, up to
the last bit of a float32 matrix product, which BLAS may round differently with the number of
rows in one product (as it already did between the two lists, scored in different groups); the
shared sources settle ties by column, so a list is the prefix of a deeper one. An ask with
another mask is scored afresh. On the ci world the published lists and scores are bit for bit
those of scoring each list alone.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.recs.blends import SCORE_BLEND_DEPTH
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.source_ranker import SourceRanker

BoolArray = npt.NDArray[np.bool_]
SHARED_SOURCES = ("als", "ease", "item_knn")
"""The sources worth keeping: each ask scores every user against the catalog (ALS), the
modelled items (EASE, up to 10,000) or their items' neighbours (item-kNN)."""


class BlockMemo:
    """``model`` with the lists of its last call kept (see the module docstring)."""

    def __init__(self, model: Recommender, depth: int = 0) -> None:
        self.model = model
        self.depth = depth
        """Every miss is scored at least this deep (0: as deep as asked)."""
        self.name = model.name
        self._users: IntArray | None = None  # sorted
        self._items: IntArray | None = None
        self._scores: FloatArray | None = None
        self._exclude: BoolArray | None = None
        self.hits = 0
        self.misses = 0

    def fit(self, data: RecsData, history: Interactions) -> BlockMemo:
        """The model comes fitted (the memo is built for one batch)."""
        return self

    def recommend(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        users = np.asarray(users, dtype=np.int64)
        kept = self._lookup(users, k, exclude)
        if kept is not None:
            self.hits += 1
            return kept
        self.misses += 1
        items, scores = self.model.recommend(users, max(k, self.depth), exclude)
        order = np.argsort(users, kind="stable")
        self._users, self._exclude = users[order], exclude
        self._items, self._scores = np.asarray(items)[order], np.asarray(scores)[order]
        return items[:, :k], scores[:, :k]

    def _lookup(
        self, users: IntArray, k: int, exclude: BoolArray | None
    ) -> tuple[IntArray, FloatArray] | None:
        """The kept rows of ``users`` cut to depth ``k``, when every one of them is kept at least
        that deep, with the same exclusions (the very array: a batch passes one mask to every
        call)."""
        if self._users is None or self._items is None or self._scores is None or self._users.size == 0:
            return None
        if exclude is not self._exclude or k > self._items.shape[1]:
            return None
        at = np.minimum(np.searchsorted(self._users, users), self._users.size - 1)
        if not np.array_equal(self._users[at], users):
            return None
        return self._items[at, :k], self._scores[at, :k]


def shared_for_a_batch(sources: dict[str, Recommender]) -> dict[str, Recommender]:
    """``sources`` with each of :data:`SHARED_SOURCES` behind a :class:`BlockMemo`, one per fitted
    model, the source rankers' candidates included; a fit the policies hold themselves (a blend's
    part) is kept a blend's depth."""
    memos: dict[int, BlockMemo] = {}
    blended = {id(model) for name, model in sources.items() if name in SHARED_SOURCES}

    def shared(name: str, model: Recommender) -> Recommender:
        if name not in SHARED_SOURCES:
            return model
        depth = SCORE_BLEND_DEPTH if id(model) in blended else 0
        return memos.setdefault(id(model), BlockMemo(model, depth))

    return {
        name: model.over({part: shared(part, fit) for part, fit in model.sources.items()})
        if isinstance(model, SourceRanker)
        else shared(name, model)
        for name, model in sources.items()
    }
