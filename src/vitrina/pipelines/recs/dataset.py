"""Load the recommendation dataset from the validated lake.

The core builds :class:`~vitrina.core.recs.dataset.RecsData` from frames and knows nothing
of where they live; this step reads the validated catalog, users and events
(:func:`~vitrina.adapters.lake.recs_tables.read_recs_tables`, the same read the API's
last-resort popularity list uses) and hands them to
:func:`~vitrina.core.recs.dataset.build_recs_data`.
"""

from __future__ import annotations

from vitrina.adapters.lake.recs_tables import read_recs_tables
from vitrina.config import Settings
from vitrina.core.evaluation.split import TemporalSplit
from vitrina.core.recs.dataset import RecsData, build_recs_data


def load_recs_data(settings: Settings, split: TemporalSplit | None = None) -> RecsData:
    """Read the validated catalog, users and events and index them (``ValueError`` without events)."""
    catalog, users, events = read_recs_tables(settings)
    return build_recs_data(catalog, users, events, split)
