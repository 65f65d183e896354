"""What every recommender offers, so baselines, candidates and the full model are
evaluated, compared and served the same way."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from vitrina.core.recs.dataset import FloatArray, IntArray, Interactions, RecsData

PAD = -1  # padding of ranked matrices (the same convention as vitrina.core.metrics)


class Recommender(Protocol):
    """A model that ranks items for users.

    ``fit`` sees only ``history`` (interactions before a cutoff) plus static tables of
    ``data``; ``recommend`` returns, for each user index, ``k`` item indices best first,
    padded with ``PAD``, and their scores (``-inf`` at padding). ``exclude`` (optional,
    shape (n_items,) bool) marks items that may never be returned (out of stock, reported).
    """

    name: str

    def fit(self, data: RecsData, history: Interactions) -> Recommender: ...

    def recommend(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray]: ...


def top_k_rows(scores: FloatArray, k: int) -> tuple[IntArray, FloatArray]:
    """Top ``k`` columns of every row of a dense score matrix, best first.

    ``-inf`` scores are never returned (their slots become ``PAD``). Shapes: (n, m) → (n, k).
    """
    n, m = scores.shape
    kk = min(k, m)
    if kk == 0:
        return np.full((n, k), PAD, dtype=np.int64), np.full((n, k), -np.inf)
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    items = np.take_along_axis(part, order, axis=1).astype(np.int64)
    top = np.take_along_axis(part_scores, order, axis=1)
    items[~np.isfinite(top)] = PAD
    if kk < k:
        items = np.pad(items, ((0, 0), (0, k - kk)), constant_values=PAD)
        top = np.pad(top, ((0, 0), (0, k - kk)), constant_values=-np.inf)
    return items, top
