"""What the live simulation drives: a shop (the simulator's world and shoppers) and an API.

The pipelines never import the simulator nor the serving app (import contracts): the CLI
builds both and hands them over as these protocols.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pandas as pd


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
