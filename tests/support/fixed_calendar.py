"""The calendar of every generated test world.

The last simulated day is fixed, so that the data (weekday seasonality included) and every
result built on it are the same whatever day the tests run. ``make test`` runs the
quality-threshold tests (marker ``quality``) again on worlds that end on other weekdays by
setting ``VITRINA_TEST_WORLD_END``: a margin that holds on one weekday only fails there.
"""

from __future__ import annotations

import datetime as dt
import os

WORLD_END = dt.date.fromisoformat(os.environ.get("VITRINA_TEST_WORLD_END", "2026-11-29"))
WORLD_END_MIDNIGHT = dt.datetime.combine(WORLD_END + dt.timedelta(days=1), dt.time(), dt.UTC)
