"""The three generation scales and their sizes.

``sessions_per_day`` is the expected number of sessions on an average day when every
user has signed up; the daily count then follows the weekly cycle, paydays and the share
of users already signed up (see ``docs/simulator.md``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Sizes of one generation scale."""

    name: str
    n_products: int
    n_users: int
    n_days: int
    sessions_per_day: float
    drift_days: int
    n_eval_queries: int
    """Distinct queries whose qrels are materialised in ``truth/qrels`` (the evaluation set)."""


SCALES: dict[str, Scale] = {
    "ci": Scale("ci", n_products=2_000, n_users=2_000, n_days=21, sessions_per_day=330.0,
                drift_days=7, n_eval_queries=800),
    "demo": Scale("demo", n_products=20_000, n_users=30_000, n_days=84, sessions_per_day=2_600.0,
                  drift_days=7, n_eval_queries=3_000),
    "large": Scale("large", n_products=200_000, n_users=500_000, n_days=84, sessions_per_day=16_000.0,
                   drift_days=7, n_eval_queries=2_000),
}  # fmt: skip


def get_scale(name: str) -> Scale:
    """The scale called ``name``; ``ValueError`` listing the known ones otherwise."""
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}; expected one of {', '.join(SCALES)}") from None
