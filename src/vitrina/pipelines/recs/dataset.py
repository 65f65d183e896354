"""Load the recommendation dataset from the validated lake.

The core builds :class:`~vitrina.core.recs.dataset.RecsData` from frames and knows nothing
of where they live; this step reads the validated catalog, users and events through the
DuckDB warehouse of the settings and hands them to
:func:`~vitrina.core.recs.dataset.build_recs_data`.
"""

from __future__ import annotations

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings
from vitrina.core.evaluation.split import TemporalSplit
from vitrina.core.recs.dataset import CATALOG_COLUMNS, RecsData, build_recs_data


def load_recs_data(settings: Settings, split: TemporalSplit | None = None) -> RecsData:
    """Read the validated catalog, users and events through DuckDB and index them."""
    with Warehouse.from_settings(settings, persistent=False) as warehouse:
        catalog = warehouse.df(f"SELECT {', '.join(CATALOG_COLUMNS)} FROM catalog")
        users = warehouse.df("SELECT * FROM users")
        events = warehouse.df(
            "SELECT user_id, product_id, event_type, ts, session_id, page, position FROM events"
        )
    if events.empty:
        raise ValueError("no validated events: run `vitrina data validate` first")
    catalog["is_reported"] = catalog["is_reported"].fillna(False).astype(bool)
    return build_recs_data(catalog, users, events, split)
