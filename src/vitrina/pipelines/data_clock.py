"""The data clock: how many days of data a serving version has not seen.

A model goes stale with the data that arrives after it was trained, not with the time that
passes on the machine that trained it: a shop whose events stop (a holiday, a broken feed) has
nothing new to learn from, and a back-fill of a month, or a simulation that plays a day in a
few minutes, brings a month's worth in an afternoon. So every registered version carries
``data_end``, the latest event time in the lake when its run read the data, and a champion's
age is the latest event time now minus that (:func:`version_age_days`; ADR-0040).

The run reads its data at its start and the tag is written at registration, so events
ingested while a run trains count as seen: the age is short by at most a run's length.
Versions without the tag (registered before it existed, or in a shop without events: a
catalog-only search) are aged on the wall clock since their registration, as before.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.adapters.registry.models import VersionInfo
from vitrina.config import Settings

DATA_END_TAG = "data_end"
Clock = Literal["data", "wall"]


def latest_event_time(settings: Settings) -> dt.datetime | None:
    """The latest ``ts`` of the validated events (UTC); None when the shop has no events (or
    a table without event times: only the contract's validation guarantees the column)."""
    with Warehouse.from_settings(settings, persistent=False) as warehouse:
        if "events" not in warehouse.present:
            return None
        if "ts" not in warehouse.sql("SELECT * FROM events LIMIT 0").column_names:
            return None
        value = warehouse.sql("SELECT max(ts) AS last FROM events").column("last")[0].as_py()
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def data_end_tags(settings: Settings) -> dict[str, str]:
    """The version tag recording what data a run has seen (empty when there are no events)."""
    last = latest_event_time(settings)
    return {} if last is None else {DATA_END_TAG: last.isoformat()}


def version_age_days(
    settings: Settings, version: VersionInfo, now: dt.datetime | None = None
) -> tuple[float, Clock]:
    """Days of data newer than ``version`` saw (data clock), or days since it was registered
    (wall clock) when it has no ``data_end`` tag or the lake no events."""
    seen = version.tags.get(DATA_END_TAG)
    last = latest_event_time(settings) if seen else None
    if seen and last is not None:
        return max((last - dt.datetime.fromisoformat(seen)).total_seconds(), 0.0) / 86_400, "data"
    return ((now or dt.datetime.now(dt.UTC)) - version.created).total_seconds() / 86_400, "wall"
