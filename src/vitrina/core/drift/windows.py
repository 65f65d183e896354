"""The two windows drift compares: a *reference* (the data models were trained on) and the
*current* window (the latest ``window_days``).

Both are made of whole UTC days and the reference of whole *blocks* of ``window_days``
ending where the current window starts::

    reference_start … | block B | … | block 1 | current (block 0) | end
                                               current_start

Why blocks: a statistic over "entities active in a window" (users active this week, a
7-day feature as of a cutoff) depends on the window's length — a 28-day window catches
more occasional users than a 7-day one. Measuring the reference per block of the same
length as the current window, and pooling the blocks, compares like with like. Blocks of 7
days also keep the weekday mix of both windows equal.

The default reference is the 28 days before the current window (four blocks), cut to the
history available and rounded down to whole blocks; it approximates the training window of
a model retrained weekly. Pass explicit days to align it with a model's own window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

DAY = dt.timedelta(days=1)


def _midnight(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError(f"timestamps must be time-zone aware (UTC), got naive {value.isoformat()}")
    utc = value.astimezone(dt.UTC)
    return dt.datetime(utc.year, utc.month, utc.day, tzinfo=dt.UTC)


@dataclass(frozen=True)
class DriftWindows:
    """Half-open UTC intervals ``[reference_start, current_start)`` and ``[current_start, end)``."""

    reference_start: dt.datetime
    current_start: dt.datetime
    end: dt.datetime
    block_days: int

    @property
    def blocks(self) -> int:
        """Number of reference blocks (each ``block_days`` long)."""
        return (self.current_start - self.reference_start).days // self.block_days

    @property
    def reference_cutoffs(self) -> list[dt.datetime]:
        """The end of every reference block, latest first (feature ``as_of`` instants)."""
        step = dt.timedelta(days=self.block_days)
        return [self.current_start - k * step for k in range(self.blocks)]

    def block_end(self, block: int) -> dt.datetime:
        """End of block ``block`` (0 is the current window)."""
        return self.end - block * dt.timedelta(days=self.block_days)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """``{"reference": {...}, "current": {...}}`` for reports (ISO instants, end exclusive)."""
        return {
            "reference": {
                "start": self.reference_start.isoformat(),
                "end": self.current_start.isoformat(),
                "days": (self.current_start - self.reference_start).days,
                "blocks": self.blocks,
            },
            "current": {
                "start": self.current_start.isoformat(),
                "end": self.end.isoformat(),
                "days": (self.end - self.current_start).days,
            },
        }


def drift_windows(
    first_ts: dt.datetime,
    last_ts: dt.datetime,
    *,
    window_days: int = 7,
    reference_days: int = 28,
    end: dt.datetime | None = None,
) -> DriftWindows:
    """Windows for data spanning ``first_ts … last_ts``.

    ``end`` (exclusive, rounded down to midnight) defaults to the midnight after the day of
    ``last_ts``, i.e. the last day counts as complete. The reference is ``reference_days``
    rounded down to whole ``window_days`` blocks and cut to the days available from the
    day of ``first_ts``. ValueError when not even one reference block fits.
    """
    if window_days < 1 or reference_days < window_days:
        raise ValueError(
            f"need window_days ≥ 1 and reference_days ≥ window_days, got {window_days}, {reference_days}"
        )
    stop = _midnight(end) if end is not None else _midnight(last_ts) + DAY
    current_start = stop - window_days * DAY
    available = (current_start - _midnight(first_ts)).days
    blocks = min(reference_days, available) // window_days
    if blocks < 1:
        raise ValueError(
            f"not enough history for drift: {max(available, 0)} days before the current window "
            f"({current_start.date()} … {(stop - DAY).date()}), need at least {window_days}"
        )
    return DriftWindows(current_start - blocks * window_days * DAY, current_start, stop, window_days)
