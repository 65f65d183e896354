"""How far back "popular lately" looks: far enough that a crowd, not a handful, chose in it.

Popularity models weigh recent choices more (a window of the last two weeks, a half-life of a
week): in a busy shop a week holds thousands of users. In a slow one it may hold one user's
burst — the last week of a ratings log spanning 18 years holds six users — and "popular
lately" then means "what those six liked", a list that every user without a list of their
own is served. :func:`crowd_days` widens such a span (doubling it) until at least
``min_users`` distinct users chose something in it, or it reaches back to the first choice.

Why 100 (:data:`MIN_CROWD`): the same floor as the held-out windows
(:mod:`vitrina.core.recs.heldout_windows`) — fewer users than that do not rank a catalog, they
describe themselves. The demo's week holds about 7,000.
"""

from __future__ import annotations

import numpy as np

from vitrina.core.ranking.interactions import Interactions

MIN_CROWD = 100
"""Distinct users whose choices a popularity span should hold."""
DAY_US = 86_400_000_000


def crowd_days(positives: Interactions, end_us: int, days: float, min_users: int = MIN_CROWD) -> float:
    """``days``, doubled until the ``positives`` in ``[end_us − days, end_us)`` come from at
    least ``min_users`` users or the span covers every one of them (``days`` itself when there
    are none)."""
    if len(positives) == 0 or min_users <= 0:
        return days
    first = int(positives.ts_us.min())
    while True:
        start = end_us - int(days * DAY_US)
        if start <= first or np.unique(positives.user[positives.ts_us >= start]).size >= min_users:
            return days
        days *= 2
