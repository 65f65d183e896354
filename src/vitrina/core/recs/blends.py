"""Two simple ways of combining recommenders into one list, for shops where no single source
is best for every user.

* :class:`SequenceBlend` — each part's list in turn: the first part's items, then the next
  part's items not shown yet, and so on. A part before the last contributes only the items it
  scores above zero, so a source with nothing to say about a user (buy-again for someone who
  never bought) leaves the slots to the next one; the last part fills the rest.
  "The customer's own items, then co-occurrence, then what sells now" is one.
* :class:`ScoreBlend` — ``w · a + (1 − w) · b`` of two parts' scores, each min–max scaled
  to [0, 1] within the user's list (the sources' scales differ: counts, dot products,
  regression weights), an item missing from one list counting 0 there.

Both are :class:`~vitrina.core.recs.recommender.Recommender` s and also say which part
supplied each slot (:meth:`recommend_with_sources`), so served lists can give each item the
reason of its source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.recommender import Recommender

BoolArray = npt.NDArray[np.bool_]
SCORE_BLEND_DEPTH = 100
"""Items taken from each part of a score blend (the blend can only reorder what they offer)."""


def first_occurrences(items: IntArray) -> BoolArray:
    """``(n, m)`` mask of the cells holding an item's first occurrence in its row (never ``PAD``)."""
    order = np.argsort(items, axis=1, kind="stable")  # equal items: leftmost first
    ordered = np.take_along_axis(items, order, axis=1)
    repeat = np.zeros(items.shape, dtype=bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    first = np.zeros(items.shape, dtype=bool)
    np.put_along_axis(first, order, ~repeat, axis=1)
    return np.asarray(first & (items != PAD), dtype=bool)


def compact(
    items: IntArray, keep: BoolArray, sources: IntArray, k: int
) -> tuple[IntArray, FloatArray, IntArray]:
    """The kept cells of each row moved left in order, cut or padded to ``k``; scores fall by
    one per slot from ``k`` (finite, best first), sources ``-1`` at padding."""
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
    kept = np.take_along_axis(keep, order, axis=1)
    out = np.where(kept, np.take_along_axis(items, order, axis=1), PAD)
    source = np.where(kept, np.take_along_axis(sources, order, axis=1), -1)
    if out.shape[1] < k:
        pad = ((0, 0), (0, k - out.shape[1]))
        out = np.pad(out, pad, constant_values=PAD)
        source = np.pad(source, pad, constant_values=-1)
    scores = np.where(out != PAD, np.arange(k, 0, -1, dtype=np.float64)[None, :], -np.inf)
    return out.astype(np.int64), scores, source.astype(np.int64)


class _Blend:
    """What both blends share: fitting every part on the same history, and lists without the
    per-slot sources."""

    parts: list[Recommender]

    def fit(self, data: RecsData, history: Interactions) -> Self:
        for part in self.parts:
            part.fit(data, history)
        return self

    def recommend(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        items, scores, _ = self.recommend_with_sources(users, k, exclude)
        return items, scores

    def recommend_with_sources(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray, IntArray]:
        raise NotImplementedError


class SequenceBlend(_Blend):
    """The parts' lists one after the other, de-duplicated (see the module docstring)."""

    def __init__(self, parts: Sequence[Recommender], name: str) -> None:
        if not parts:
            raise ValueError("a sequence blend needs at least one part")
        self.parts = list(parts)
        self.name = name

    def recommend_with_sources(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray, IntArray]:
        """Lists as :meth:`recommend` plus, per slot, the index of the part that supplied it."""
        users = np.asarray(users, dtype=np.int64)
        blocks, valid, sources = [], [], []
        last = len(self.parts) - 1
        for index, part in enumerate(self.parts):
            # each part may repeat every item of the parts before it, so ask for that many more
            items, scores = part.recommend(users, k * (index + 1), exclude)
            items = np.asarray(items, dtype=np.int64)
            scores = np.asarray(scores, dtype=np.float64)
            usable = (items != PAD) & np.isfinite(scores) & ((scores > 0) | (index == last))
            blocks.append(items)
            valid.append(usable)
            sources.append(np.full(items.shape, index, dtype=np.int64))
        items = np.where(np.hstack(valid), np.hstack(blocks), PAD)
        return compact(items, first_occurrences(items), np.hstack(sources), k)


def _scaled(scores: FloatArray) -> FloatArray:
    """Each row's finite scores min–max scaled to [0, 1] (a row of one value → 1); -inf stays."""
    finite = np.isfinite(scores)
    low = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
    high = np.where(finite, scores, -np.inf).max(axis=1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    scaled = np.where(high > low, (scores - low) / span, 1.0)
    return np.where(finite, scaled, -np.inf)


class ScoreBlend(_Blend):
    """``weight · first + (1 − weight) · second`` of scaled scores (see the module docstring)."""

    def __init__(self, first: Recommender, second: Recommender, weight: float, name: str) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"weight must lie in [0, 1], got {weight}")
        self.parts = [first, second]
        self.weight = weight
        self.name = name

    def recommend_with_sources(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray, IntArray]:
        """Lists as :meth:`recommend`; a slot's source is the part that gave it more weight."""
        users = np.asarray(users, dtype=np.int64)
        depth = max(k, SCORE_BLEND_DEPTH)
        items, parts, shares = [], [], []
        weights = (self.weight, 1.0 - self.weight)
        for index, (part, weight) in enumerate(zip(self.parts, weights, strict=True)):
            got, scores = part.recommend(users, depth, exclude)
            got = np.asarray(got, dtype=np.int64)
            scaled = _scaled(np.where(got == PAD, -np.inf, np.asarray(scores, dtype=np.float64)))
            items.append(np.where(np.isfinite(scaled), got, PAD))
            shares.append(np.where(np.isfinite(scaled), weight * scaled, 0.0))
            parts.append(np.full(got.shape, index, dtype=np.int64))
        return _top_sums(np.hstack(items), np.hstack(shares), np.hstack(parts), k)


def _top_sums(
    items: IntArray, shares: FloatArray, parts: IntArray, k: int
) -> tuple[IntArray, FloatArray, IntArray]:
    """Per row: sum the shares of equal items, keep the ``k`` largest sums, best first (equal
    sums: the smaller item first); each item's source is the part of its largest share (ties →
    the first part). Row by row, not over one flattened key: every step sorts short rows."""
    n, m = items.shape
    out = np.full((n, k), PAD, dtype=np.int64)
    out_scores = np.full((n, k), -np.inf)
    out_sources = np.full((n, k), -1, dtype=np.int64)
    if n == 0 or m == 0:
        return out, out_scores, out_sources
    real = items != PAD
    # padding sorts after every item; equal items keep their column order (the sums' order)
    keyed = np.where(real, items, np.iinfo(np.int64).max)
    by_item = np.argsort(keyed, axis=1, kind="stable")
    item = np.take_along_axis(keyed, by_item, axis=1)
    share = np.take_along_axis(shares, by_item, axis=1)
    part = np.take_along_axis(parts, by_item, axis=1)
    starts = np.ones((n, m), dtype=bool)
    starts[:, 1:] = item[:, 1:] != item[:, :-1]
    at = np.flatnonzero(starts)  # each (row, item) group's first cell; groups never span rows
    group = np.cumsum(starts.ravel()) - 1
    total = np.bincount(group, weights=share.ravel(), minlength=at.size)  # in column order
    largest = np.maximum.reduceat(share.ravel(), at)
    size = np.diff(np.append(at, n * m))
    top_share = share.ravel() == np.repeat(largest, size)
    source = np.minimum.reduceat(np.where(top_share, part.ravel(), np.iinfo(np.int64).max), at)
    grouped = starts & (item != np.iinfo(np.int64).max)
    sums = np.full((n, m), np.inf)
    sums.ravel()[at] = -total
    sums[~grouped] = np.inf
    cells = np.full((n, m), -1, dtype=np.int64)
    cells.ravel()[at] = source
    best = np.argsort(sums, axis=1, kind="stable")[:, :k]  # within equal sums, item order
    kept = np.take_along_axis(grouped, best, axis=1)
    width = best.shape[1]
    out[:, :width] = np.where(kept, np.take_along_axis(item, best, axis=1), PAD)
    out_scores[:, :width] = np.where(kept, -np.take_along_axis(sums, best, axis=1), -np.inf)
    out_sources[:, :width] = np.where(kept, np.take_along_axis(cells, best, axis=1), -1)
    return out, out_scores, out_sources
