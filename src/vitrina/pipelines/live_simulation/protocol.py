"""What the live simulation drives: a shop (the simulator's world and shoppers) and an API.

The pipelines never import the simulator nor the serving app (import contracts): the CLI
builds both and hands them over as these protocols.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd


class SearchJudge(Protocol):
    """The simulated world's view of a search: what the shopper meant and what they would do
    with a list — the truth a real shop does not have, judging search versions in the report."""

    def intents(self, query: str, at: dt.datetime) -> list[tuple[str, float]]:
        """The world's queries a shopper typing ``query`` at ``at`` may have meant, with their
        probabilities (summing to 1); empty when ``query`` is none of the world's queries."""
        ...

    def grades(self, query_id: str, product_ids: Sequence[str]) -> npt.NDArray[np.int8]:
        """The truth's relevance grade (0–3) of each product for query ``query_id``."""
        ...

    def expected_clicks(self, user_id: str, shown: Sequence[str], query_id: str, at: dt.datetime) -> float:
        """Expected clicks of ``user_id`` on ``shown`` for ``query_id`` at ``at`` (the market's
        click model)."""
        ...


class LiveShop(Protocol):
    """The simulated shop: what arrives each day, who visits, how they answer a list."""

    def date(self, day: int) -> dt.date: ...

    def switch_drift(self, day: int) -> str: ...

    def arrivals(self, day: int, at: dt.datetime) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]: ...

    def visits(self, day: int) -> list[dict[str, Any]]:
        """The day's page requests in time order: ``user_id``, ``session_id``, ``ts``, ``page``
        (home, recs or search), optional ``device``, ``k`` (list size), ``query``/``query_id``."""
        ...

    def respond(self, user_id: str, shown: list[str], context: dict[str, Any]) -> list[dict[str, Any]]: ...

    def utility(self, user_id: str, shown: list[str], at: dt.datetime) -> float: ...

    def best_utility(self, user_id: str, k: int, at: dt.datetime) -> float:
        """Mean true utility of the best ``k`` in-stock products for the user at ``at``."""
        ...

    def price(self, product_id: str, at: dt.datetime) -> float: ...

    def search_judge(self) -> SearchJudge:
        """The truth of the world as it is now (grown by every arrival) as a judge of searches."""
        ...


class LiveApi(Protocol):
    """The running API, as a shopper and an operator see it."""

    def recs(self, user_id: str, *, k: int, request_id: str, at: dt.datetime) -> list[str]: ...

    def search(self, query: str, *, user_id: str, k: int, request_id: str, at: dt.datetime) -> list[str]: ...

    def post_events(self, events: Sequence[Mapping[str, Any]]) -> None: ...

    def probe_search(self, query: str, *, k: int) -> list[str]:
        """The served index's answer to ``query`` for nobody in particular, with nothing logged
        (no search answer, no experiment request): a monitor's look, not a shopper's search."""
        ...

    def reload(self) -> dict[str, str]:
        """Apply what the loop published (lists, index, experiment); returns the served versions."""
        ...
