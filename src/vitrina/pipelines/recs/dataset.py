"""Load the recommendation dataset from the validated lake.

The core builds :class:`~vitrina.core.recs.dataset.RecsData` and knows nothing of where the
tables live; this step reads it from the validated lake through
:func:`~vitrina.adapters.lake.recs_tables.read_recs_data` (the same read the API's last-resort
popularity list uses), which codes the events inside DuckDB.
"""

from __future__ import annotations

from vitrina.adapters.lake.recs_tables import read_recs_data
from vitrina.config import Settings
from vitrina.core.evaluation.split import TemporalSplit
from vitrina.core.recs.dataset import RecsData


def load_recs_data(settings: Settings, split: TemporalSplit | None = None) -> RecsData:
    """Read the validated catalog, users and events as integer codes (``ValueError`` without events)."""
    return read_recs_data(settings, split)
