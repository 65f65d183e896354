"""How far back "popular lately" looks, chosen on the shop's own validation windows.

Recent popularity (the ``popularity_recent`` source) is a contender of every policy choice,
the filler of every short list and the list an unknown customer is served. Its recency is a
property of the shop: a weekly-cycle marketplace wants last week's choices, a shop whose
orders are spread thin over many items wants a month of them (on the olist shop of the
real-data benchmark a plain 30-day count beats a 7-day half-life), and a catalog that does
not move wants all time. So the pipeline scores popularity at each recency of
:data:`RECENCY_GRID` on the validation window — pooled with earlier windows of the same width
while they hold fewer users than :data:`~vitrina.core.recs.ease_lambda.MIN_POOLED_USERS`, as
EASE's λ is (docs/adr/0023, docs/adr/0026) — and keeps the best. Every user with a held-out
choice counts: popularity lists the same items for everyone, returning or not. With fewer
than :data:`~vitrina.core.recs.ease_lambda.MIN_CHOICE_USERS` such users the default
(:data:`DEFAULT`, the model's own) is kept.

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
class Recency:
    """One way to weigh past choices: a half-life (exponential decay), a window (only the last
    days count, equally), or neither (all time)."""

    half_life_days: float | None = None
    window_days: float | None = None

    @property
    def name(self) -> str:
        if self.half_life_days is not None and self.window_days is not None:
            return f"half-life {self.half_life_days:g} d within {self.window_days:g} d"
        if self.half_life_days is not None:
            return f"half-life {self.half_life_days:g} d"
        if self.window_days is not None:
            return f"last {self.window_days:g} d"
        return "all time"

    def settings(self) -> dict[str, float | None]:
        """Keyword arguments of :class:`~vitrina.core.recs.baselines.GlobalPopularity`."""
        return {"half_life_days": self.half_life_days, "window_days": self.window_days}

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any]) -> Recency:
        """The recency stored as :meth:`settings` (the default half-life when none is stored)."""
        half = raw.get("half_life_days", DEFAULT.half_life_days)
        window = raw.get("window_days")
        return cls(None if half is None else float(half), None if window is None else float(window))


DEFAULT = Recency(half_life_days=7.0)
"""The popularity model's own default: a week's half-life (the marketplace's weekly cycle)."""
RECENCY_GRID = (
    DEFAULT,
    Recency(half_life_days=30.0),
    Recency(window_days=7.0),
    Recency(window_days=30.0),
    Recency(),
)
"""Recencies tried, the default first: a week or a month as a half-life or as a plain window,
and all time. Popularity fits are one weighted count each, so the grid costs only its scoring.
Windows and half-lives are widened where they hold too few users (:mod:`.crowd`), as always."""


def choose_recency(scores: Mapping[Recency, float], default: Recency = DEFAULT, tie: float = TIE) -> Recency:
    """The recency with the best pooled NDCG@10; among equals (within ``tie``) the first in
    ``scores``' order (list the default first); ``default`` when none was measured."""
    finite = [(recency, score) for recency, score in scores.items() if math.isfinite(score)]
    if not finite:
        return default
    best = max(score for _, score in finite)
    return next(recency for recency, score in finite if score >= best - tie)
