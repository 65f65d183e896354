"""Cutoffs (the ``as_of`` instants features are computed at) and the grain they allow.

Computing features for many cutoffs at once is cheap because events are first summed per
*bucket* of time and only the buckets are joined to the cutoffs. The bucket is the
coarsest of day / hour / minute / second that every cutoff falls on: then every window
edge (``as_of − 24 h``, ``− 7 d`` …) is a bucket edge too, a bucket is either wholly inside
a window or wholly outside, and the result equals the per-event definition
(``as_of − window ≤ ts < as_of``) exactly. Daily cutoffs at midnight aggregate per day
(≈10× fewer rows than events on the demo data); a single arbitrary "now" falls back to
microseconds, i.e. the events themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal

import pandas as pd

Grain = Literal["D", "h", "m", "s", "us"]
Cutoffs = Iterable[dt.datetime | pd.Timestamp | str] | pd.DatetimeIndex
"""What the engines accept as cutoffs (normalised by :func:`normalise_cutoffs`)."""
_GRAINS: tuple[tuple[Grain, str], ...] = (("D", "D"), ("h", "h"), ("m", "min"), ("s", "s"))


def normalise_cutoffs(
    cutoffs: Iterable[dt.datetime | pd.Timestamp | str] | pd.DatetimeIndex,
) -> pd.DatetimeIndex:
    """Sorted, unique, UTC, microsecond cutoffs.

    Raises ValueError on an empty list or a naive timestamp: guessing a time zone for a
    cutoff would silently shift every window.
    """
    values = list(cutoffs)
    if not values:
        raise ValueError("at least one cutoff is needed")
    stamps = [pd.Timestamp(v) for v in values]
    naive = [str(s) for s in stamps if s.tzinfo is None]
    if naive:
        raise ValueError(f"cutoffs must be time-zone aware (UTC), got naive {naive[:3]}")
    index = pd.DatetimeIndex(stamps).tz_convert("UTC").as_unit("us")
    return index.unique().sort_values()


def bucket_grain(cutoffs: pd.DatetimeIndex) -> Grain:
    """The coarsest grain every cutoff is aligned to (``"us"``: no bucketing)."""
    for grain, freq in _GRAINS:
        if bool((cutoffs == cutoffs.floor(freq)).all()):
            return grain
    return "us"


def daily_cutoffs(start: dt.date | str, end: dt.date | str, hour: int = 0) -> pd.DatetimeIndex:
    """Cutoffs at ``hour``:00 UTC of every day from ``start`` to ``end`` inclusive (training sets)."""
    if not 0 <= hour < 24:
        raise ValueError(f"hour must be in 0..23, got {hour}")
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D", tz="UTC")
    return (days + pd.Timedelta(hours=hour)).as_unit("us")
