"""The shop's relevance judgments as the search evaluation reads them, from the validated lake.

Validation has already checked them (grades ≥ 0, every product in the catalog, one row per
query and product); this step only reads them, so the evaluation never sees a raw row.
"""

from __future__ import annotations

import pandas as pd

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings

COLUMNS = ("query", "product_id", "grade")


def read_judgments(settings: Settings) -> pd.DataFrame:
    """Validated judgments (``query``, ``product_id``, ``grade``); an empty frame if none."""
    with Warehouse.from_settings(settings) as warehouse:
        if "judgments" not in warehouse.present:
            return pd.DataFrame({c: pd.Series(dtype=float if c == "grade" else object) for c in COLUMNS})
        return warehouse.df(f"SELECT {', '.join(COLUMNS)} FROM judgments ORDER BY query, product_id")
