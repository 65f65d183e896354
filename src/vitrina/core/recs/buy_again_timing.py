"""How much the buy-again source trusts purchase cycles, chosen on the shop's own validation windows.

Buy-again (:mod:`.buy_again`) scales each own purchase by how due it is: the days since the
user last bought the item over the item's median cycle, read over the ``horizon_days`` the list
is for, with a ``due_floor`` below which timing cannot push a habit. Whether a shop's customers
re-buy on a cycle is a property of the shop, not of the method: the simulator's shoppers restock
on one, while on the UK online shop of the real-data benchmark the timing term costs about 0.01
NDCG@10 (all positives) against ranking the same purchases by propensity alone. So the pipeline
scores buy-again at each timing of :data:`TIMING_GRID` on the validation window — pooled with
earlier windows of the same width while they hold fewer users than
:data:`~vitrina.core.recs.ease_lambda.MIN_POOLED_USERS`, as EASE's λ and recent popularity's
recency are (docs/adr/0023, docs/adr/0026) — and keeps the best (docs/adr/0043). Only users
with an earlier purchase count (buy-again lists nothing for anyone else, at any timing), in the
all-positives view (it lists nothing new). With fewer than
:data:`~vitrina.core.recs.ease_lambda.MIN_CHOICE_USERS` such users the default is kept.

Pure logic: the caller fits, scores and counts; this module names the grid and decides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TIE = 1e-9
"""Scores this close are equal (float noise of a user-weighted mean): the earlier grid value,
the default first, wins."""


@dataclass(frozen=True)
class Timing:
    """How the due-ness of a purchase weighs on its buy-again score: ``due_floor`` 1 switches
    timing off (propensity alone ranks), a longer ``horizon_days`` counts an item due over a
    longer span after the list is made."""

    due_floor: float
    horizon_days: float

    @property
    def name(self) -> str:
        if self.due_floor >= 1.0:
            return "timing off"
        return f"floor {self.due_floor:g}, horizon {self.horizon_days:g} d"

    def settings(self) -> dict[str, float]:
        """Keyword arguments of :class:`~vitrina.core.recs.buy_again.BuyAgain`."""
        return {"due_floor": self.due_floor, "horizon_days": self.horizon_days}

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any]) -> Timing:
        """The timing stored as :meth:`settings` (the default's value for a missing key)."""
        return cls(
            float(raw.get("due_floor", DEFAULT.due_floor)),
            float(raw.get("horizon_days", DEFAULT.horizon_days)),
        )


DEFAULT = Timing(due_floor=0.2, horizon_days=7.0)
"""The model's own default: timing may scale a score by up to 5 ×, due within the week the
batch's lists and the held-out windows cover."""
TIMING_GRID = (
    DEFAULT,
    Timing(due_floor=0.2, horizon_days=28.0),
    Timing(due_floor=1.0, horizon_days=DEFAULT.horizon_days),
)
"""Timings tried, the default first: as is; due at any time of four weeks (cycles known only
roughly, or lists read over a month); timing off (propensity and frequency alone). Buy-again is
fitted once per window and only its scoring changes with the timing, so the grid costs three
scorings of the returning users."""


def choose_timing(scores: Mapping[Timing, float], default: Timing = DEFAULT, tie: float = TIE) -> Timing:
    """The timing with the best pooled NDCG@10; among equals (within ``tie``) the first in
    ``scores``' order (list the default first); ``default`` when none was measured."""
    finite = [(timing, score) for timing, score in scores.items() if math.isfinite(score)]
    if not finite:
        return default
    best = max(score for _, score in finite)
    return next(timing for timing, score in finite if score >= best - tie)
