"""The simulator's truth as a judge of search lists, for searches logged by the shop's API.

A logged search has the text the shopper typed, not the query they meant. The world's queries
share texts (a brand-only query ``samsung`` is a query per target product; a category-only
one a query per product of the category), so the text names a set of the world's queries: the
shopper meant each with the probability the live shop draws it with (its traffic × the intent
shift of the drift scenario in force at the search's time, :mod:`.live_shop`). A text that is
none of the world's queries (a search for a new product by its noun and brand) has no intent
to judge by. Grades and expected clicks come from :func:`.truth.query_relevance` and the
market's click model (:meth:`.online.OnlineMarketplace.expected_search_clicks`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vitrina.adapters.lake.truth import Truth, load_truth, to_days
from vitrina.config import Settings
from vitrina.simulator.online import OnlineMarketplace
from vitrina.simulator.truth import query_relevance


class TruthSearchJudge:
    """What a search meant, how relevant each product is to it, the clicks a list would get."""

    def __init__(self, truth: Truth, seed: int = 0) -> None:
        self.truth = truth
        self.market = OnlineMarketplace(truth, seed)
        queries = truth.queries
        self._ids = queries["query_id"].astype(str).to_numpy()
        self._weight = queries["n_searches"].astype(float).clip(lower=1.0).to_numpy()
        self._l2 = truth.products.l2[truth.product_rows(queries["product_id"].astype(str))]
        by_text: dict[str, list[int]] = {}
        for i, text in enumerate(queries["query"].astype(str)):
            by_text.setdefault(text, []).append(i)
        self._by_text = {text: np.asarray(rows, dtype=np.int64) for text, rows in by_text.items()}

    @classmethod
    def from_lake(cls, settings: Settings, seed: int = 0) -> TruthSearchJudge:
        """The truth written under ``settings.lake`` (grown and drifted by a live run)."""
        return cls(load_truth(settings), seed)

    def intents(self, query: str, at: dt.datetime) -> list[tuple[str, float]]:
        rows = self._by_text.get(query)
        if rows is None:
            return []
        world = self.truth.world
        t = float(to_days(at, self.truth.start_us))
        weight = self._weight[rows] * np.exp(world.l2_shift[self._l2[rows]] * (t >= world.drift_start))
        share = weight / weight.sum()
        return [(str(self._ids[r]), float(s)) for r, s in zip(rows, share, strict=True)]

    def grades(self, query_id: str, product_ids: Sequence[str]) -> npt.NDArray[np.int8]:
        return query_relevance(self.truth, np.full(len(product_ids), query_id), list(product_ids))

    def expected_clicks(self, user_id: str, shown: Sequence[str], query_id: str, at: dt.datetime) -> float:
        return self.market.expected_search_clicks(user_id, list(shown), query_id, at)
