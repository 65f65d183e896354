"""What every recommender offers, so baselines, candidates and the full model are
evaluated, compared and served the same way."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.recs.dataset import RecsData


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
