"""The source ranker's candidates: the union of the simple sources' top items for each user, each
candidate described by every source's score and rank (NaN where a source did not list it).

The simple sources fail differently — buy-again knows only what the user bought, EASE and
item-kNN what is bought together, ALS broad taste, recent popularity what sells now — and on
real shops each wins in one view and loses in the other. Their union holds most of what any of
them would have found; the ranker then learns, per shop, whose opinion counts where. A source's
rank matters as much as its score: scores of different sources (and of one source for different
users) are on different scales, ranks are not.

Pure: fitted recommenders in, candidate rows and a frame out.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.interactions import FloatArray, IntArray
from vitrina.core.ranking.top_k import PAD
from vitrina.core.ranking.training_set import CandidateRows
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.user_items import UserItems

BoolArray = npt.NDArray[np.bool_]


def source_columns(names: tuple[str, ...]) -> list[str]:
    """The feature columns of :func:`source_candidates` for sources ``names``, in order."""
    return [f"{name}_{kind}" for name in names for kind in ("score", "rank")]


def source_candidates(
    sources: Mapping[str, Recommender],
    depths: Mapping[str, int],
    users: IntArray,
    exclude: BoolArray | None = None,
    owned: UserItems | None = None,
) -> tuple[CandidateRows, pd.DataFrame]:
    """Each user's candidates: the top ``depths[name]`` items of every source (``exclude``:
    items never listed; ``owned``: each user's items left out, the discovery lists), de-duplicated,
    as flat rows, with :func:`source_columns` of the sources in ``sources``' order. A source's
    rank is the 0-based position in its own list."""
    users = np.asarray(users, dtype=np.int64)
    names = tuple(sources)
    lists: dict[str, tuple[IntArray, FloatArray]] = {}
    for name in names:
        items, scores = sources[name].recommend(users, int(depths[name]), exclude)
        items = np.asarray(items, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float64)
        drop = items == PAD
        if owned is not None:
            drop |= owned.contains(users, items)
        lists[name] = (np.where(drop, PAD, items), scores)
    matrix, slot_of = _union([items for items, _ in lists.values()], users.size)
    rows = CandidateRows.from_matrix(users, matrix)
    counts = np.count_nonzero(matrix != PAD, axis=1)
    offset = np.cumsum(counts) - counts
    columns: dict[str, FloatArray] = {}
    start = 0
    for name in names:
        items, scores = lists[name]
        slots = slot_of[:, start : start + items.shape[1]]
        start += items.shape[1]
        query, slot = np.nonzero(slots >= 0)
        at = offset[query] + slots[query, slot]
        score = np.full(len(rows), np.nan)
        rank = np.full(len(rows), np.nan)
        score[at] = scores[query, slot]
        rank[at] = slot
        columns[f"{name}_score"] = np.where(np.isfinite(score), score, np.nan)
        columns[f"{name}_rank"] = rank
    return rows, pd.DataFrame({name: columns[name] for name in source_columns(names)})


def _union(matrices: list[IntArray], n_users: int) -> tuple[IntArray, IntArray]:
    """Row-wise union of ``PAD``-padded item matrices, each item once per row (first source's
    order first), ``PAD``-padded to the longest row; and for every cell of the matrices side by
    side, the slot its item took in the union (-1 for ``PAD``)."""
    if not matrices:
        return np.full((n_users, 0), PAD, dtype=np.int64), np.full((n_users, 0), -1, dtype=np.int64)
    combined = np.hstack(matrices).astype(np.int64)
    width_all = combined.shape[1]
    order = np.argsort(combined, axis=1, kind="stable")
    ordered = np.take_along_axis(combined, order, axis=1)
    repeat = np.zeros_like(combined, dtype=bool)
    repeat[:, 1:] = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != PAD)
    duplicate = np.zeros_like(repeat)
    np.put_along_axis(duplicate, order, repeat, axis=1)
    first = np.maximum.accumulate(np.where(repeat, 0, np.arange(width_all)), axis=1)
    first_cell = np.empty_like(order)
    np.put_along_axis(first_cell, order, np.take_along_axis(order, first, axis=1), axis=1)
    kept = ~duplicate & (combined != PAD)
    slot_of = np.take_along_axis(np.cumsum(kept, axis=1) - 1, first_cell, axis=1)
    slot_of[combined == PAD] = -1
    combined = np.where(duplicate, PAD, combined)
    keep = np.argsort(combined == PAD, axis=1, kind="stable")  # real items first, in order
    packed = np.take_along_axis(combined, keep, axis=1)
    width = int((packed != PAD).sum(axis=1).max()) if packed.size else 0
    return packed[:, :width], slot_of
