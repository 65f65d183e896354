"""The validated tables recommendations are built from, read through DuckDB.

Both the recs pipeline and the API's last-resort popularity list (computed from the lake when
neither the store nor its snapshot can answer) index these frames with
:func:`vitrina.core.recs.dataset.build_recs_data`; the reading lives here so the API does not
import a pipeline to do it.
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings
from vitrina.core.recs.dataset import CATALOG_COLUMNS


class RecsTables(NamedTuple):
    """The validated catalog (the columns recs uses), users and events, as pandas frames."""

    catalog: pd.DataFrame
    users: pd.DataFrame
    events: pd.DataFrame


def read_recs_tables(settings: Settings) -> RecsTables:
    """Read the validated catalog, users and events; ``ValueError`` when there are no events."""
    with Warehouse.from_settings(settings, persistent=False) as warehouse:
        catalog = warehouse.df(f"SELECT {', '.join(CATALOG_COLUMNS)} FROM catalog")
        users = warehouse.df("SELECT * FROM users")
        events = warehouse.df(
            "SELECT user_id, product_id, event_type, ts, session_id, page, position FROM events"
        )
    if events.empty:
        raise ValueError("no validated events: run `vitrina data validate` first")
    catalog["is_reported"] = catalog["is_reported"].fillna(False).astype(bool)
    return RecsTables(catalog, users, events)
