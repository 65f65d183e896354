"""Read the search signals of an index version from the validated lake, as of a cutoff.

The signals themselves (what they are, how they are derived and stored) live in
:mod:`vitrina.core.search.signals`; this step only reads their inputs point-in-time (only
``ts < as_of``): the feature store's ``item`` and ``user_affinity`` frames, and the search
logs of the last :data:`~vitrina.core.search.signals.WINDOW_DAYS` through DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from vitrina.adapters.features.cutoffs import normalise_cutoffs
from vitrina.adapters.features.duckdb_engine import compute_features
from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings
from vitrina.core.search.products import ProductTable
from vitrina.core.search.signals import WINDOW_DAYS, SearchSignals, signals_from_frames


def compute_signals(
    settings: Settings, products: ProductTable, as_of: pd.Timestamp, normalise: Callable[[str], str]
) -> SearchSignals:
    """Signals from the validated lake as of ``as_of`` (UTC); ``normalise`` is the query
    normaliser of query understanding, so click history is keyed as queries will be."""
    as_of = normalise_cutoffs([as_of])[0]
    frames = compute_features(settings, pd.DatetimeIndex([as_of]), frames=["item", "user_affinity"])
    with Warehouse.from_settings(settings) as warehouse:
        shown, clicked = _search_exposure(warehouse, as_of)
        searched = _searches(warehouse, as_of)
    item, user_affinity = frames["item"].to_pandas(), frames["user_affinity"].to_pandas()
    return signals_from_frames(products, as_of, item, user_affinity, shown, clicked, searched, normalise)


def _searches(warehouse: Warehouse, as_of: pd.Timestamp) -> pd.DataFrame:
    """Searches per typed query in the window (columns ``query``, ``searches``)."""
    if "search_logs" not in warehouse.present:
        return pd.DataFrame({"query": pd.Series(dtype=str), "searches": pd.Series(dtype=np.int64)})
    start = as_of - pd.Timedelta(days=WINDOW_DAYS)
    return warehouse.df(
        "SELECT query, count(*) AS searches FROM search_logs WHERE ts >= ? AND ts < ? GROUP BY query",
        [start.to_pydatetime(), as_of.to_pydatetime()],
    )


def _search_exposure(warehouse: Warehouse, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(query, product_id) → times shown and times clicked on search pages in the window."""
    if "search_logs" not in warehouse.present:
        empty = pd.DataFrame({"query": pd.Series(dtype=str), "product_id": pd.Series(dtype=str), "n": []})
        return empty, empty.copy()
    start = as_of - pd.Timedelta(days=WINDOW_DAYS)
    params = [start.to_pydatetime(), as_of.to_pydatetime()]

    def count(column: str) -> pd.DataFrame:
        return warehouse.df(
            f"""SELECT query, product_id, count(*) AS n FROM (
                  SELECT query, unnest({column}) AS product_id FROM search_logs WHERE ts >= ? AND ts < ?)
                GROUP BY ALL""",
            params,
        )

    return count("results_shown"), count("results_clicked")
