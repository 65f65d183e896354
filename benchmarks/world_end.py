"""The last simulated day of every world a benchmark generates.

Fixed, so that a generated world and every number measured on it are the same whatever day
the benchmark runs: a world that ends "yesterday" moves its held-out week, its weekday
seasonality and its catalog's ages with the calendar, and two runs of one benchmark a day
apart would not be measuring the same thing. ``--world-end`` measures another day.
"""

from __future__ import annotations

import argparse
import datetime as dt

WORLD_END = dt.date(2026, 11, 29)
"""A Sunday, the same last day as the tests' worlds (``tests/support/fixed_calendar.py``)."""


def add_world_end(parser: argparse.ArgumentParser) -> None:
    """``--world-end YYYY-MM-DD`` (default :data:`WORLD_END`) on a benchmark's command line."""
    parser.add_argument(
        "--world-end",
        type=dt.date.fromisoformat,
        default=WORLD_END,
        help=f"last simulated day of a generated world (default {WORLD_END.isoformat()})",
    )
