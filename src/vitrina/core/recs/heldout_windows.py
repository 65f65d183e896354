"""The default temporal split of a recommendations dataset: how wide its held-out windows are.

The last week of events is the test part and the week before it validation
(:meth:`TemporalSplit.trailing`), when each week holds at least :data:`MIN_HELDOUT_USERS` users
with a positive event (click, cart or purchase). A busy shop's week holds thousands. A small
or slow shop's may hold a handful — 6 users rated a movie in the last week of a ratings log
spanning 18 years — and a mean NDCG@10 over a handful of users is noise the gate would take
for a verdict. Then both windows double (14, 28, 56 … days) until each holds enough users,
as long as the training part keeps at least half of the positive events: past that the
models would be judged on data they were never given the bulk of. When no window qualifies,
the widest one that keeps that half is used, and the evaluation reports how few users it
judged.

Why 100: per-user NDCG@10 is mostly 0 with a few high values (a spread of about 0.2), so
the mean over 100 users has a standard error near 0.02 — the gate's allowed drop from the
champion. Below that, differences the gate acts on are within the noise.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from vitrina.core.evaluation.split import TEST, TRAIN, VALID, SplitError, TemporalSplit
from vitrina.core.ranking.interactions import EVENT_CODE

MIN_HELDOUT_USERS = 100
"""Users with a positive event that the validation and the test window should each hold."""
FIRST_WINDOW = dt.timedelta(days=7)


def _positive_users(events: pd.DataFrame, labels: np.ndarray, part: int, positive: np.ndarray) -> int:
    return int(events.loc[positive & (labels == part), "user_id"].nunique())


def heldout_split(
    events: pd.DataFrame,
    *,
    column: str = "ts",
    min_users: int = MIN_HELDOUT_USERS,
    first: dt.timedelta = FIRST_WINDOW,
) -> TemporalSplit:
    """The split of the module docstring for canonical ``events`` (``user_id``,
    ``event_type``, ``column``). Raises :class:`SplitError` when not even the first windows fit
    (a part would be empty)."""
    positive = (events["event_type"].map(EVENT_CODE) > EVENT_CODE["view"]).to_numpy(dtype=bool)
    n_positive = int(positive.sum())
    chosen: TemporalSplit | None = None
    window = first
    while True:
        try:
            split = TemporalSplit.trailing(events, column=column, test=window, valid=window)
        except SplitError:
            if chosen is None:
                raise
            return chosen
        labels = split.labels(events, column=column)
        in_train = int((positive & (labels == TRAIN)).sum())
        if chosen is not None and 2 * in_train < n_positive:
            return chosen  # wider would leave training less than half of what users chose
        chosen = split
        if min(_positive_users(events, labels, p, positive) for p in (VALID, TEST)) >= min_users:
            return chosen
        window *= 2
