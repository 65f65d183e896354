"""The data clock: a champion ages with the data that arrives after it, not with the machine's
clock (ADR-0040)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.registry.models import VersionInfo
from vitrina.config import Settings
from vitrina.core.tables import EVENTS
from vitrina.pipelines import retrain_policy
from vitrina.pipelines.data_clock import DATA_END_TAG, data_end_tags, latest_event_time, version_age_days

pytestmark = pytest.mark.unit

START = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def _events(settings: Settings, days: int, part: str) -> None:
    """One event a day for ``days`` days from START (the only column that matters is ``ts``)."""
    rows = [
        dict.fromkeys(EVENTS.schema.names) | {"event_id": f"{part}{d}", "ts": START + dt.timedelta(days=d)}
        for d in range(days)
    ]
    table = pa.Table.from_pylist(rows, EVENTS.schema)
    write_table(LakePaths(settings.lake), "validated", "events", table, "ts", part=part)


def _version(tags: dict[str, str], created: dt.datetime) -> VersionInfo:
    return VersionInfo("vitrina-recs", 3, "run", "source", ("champion",), tags, created)


def test_a_shop_without_events_has_no_data_end(settings: Settings) -> None:
    assert latest_event_time(settings) is None
    assert data_end_tags(settings) == {}


def test_the_age_counts_days_of_data_the_version_has_not_seen(settings: Settings) -> None:
    _events(settings, 3, "a")  # data up to START + 2 days: what the run read
    tags = data_end_tags(settings)
    assert tags == {DATA_END_TAG: (START + dt.timedelta(days=2)).isoformat()}
    registered = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # the wall clock must not matter
    version = _version(tags, registered)
    assert version_age_days(settings, version) == (0.0, "data")
    _events(settings, 12, "b")  # nine more days of data arrive
    age, clock = version_age_days(settings, version)
    assert (age, clock) == (pytest.approx(9.0), "data")


def test_a_version_without_the_tag_is_aged_on_the_wall_clock(settings: Settings) -> None:
    _events(settings, 3, "a")
    registered = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    now = registered + dt.timedelta(days=2, hours=12)
    assert version_age_days(settings, _version({}, registered), now=now) == (2.5, "wall")


def test_the_schedule_retrains_after_a_week_of_new_data_whatever_the_wall_clock(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _events(settings, 1, "a")
    champion = _version(data_end_tags(settings), dt.datetime.now(dt.UTC))  # registered just now
    serving = {"champion": champion}
    monkeypatch.setattr(retrain_policy, "get_version", lambda _s, _m, alias: serving.get(alias))
    monkeypatch.setattr(retrain_policy, "latest_drift", lambda _s, _d: ("none", "r1"))
    kept = retrain_policy.training_decision(settings, "vitrina-search", "search", "auto")
    assert (kept.retrain, kept.trigger) == (False, "keep")
    _events(settings, 9, "b")  # eight days of newer data, replayed in seconds
    decision = retrain_policy.training_decision(settings, "vitrina-search", "search", "auto")
    assert (decision.retrain, decision.trigger) == (True, "schedule")
    assert "8.0 days old (data clock" in decision.reason


def test_an_events_table_without_event_times_has_no_data_end(settings: Settings) -> None:
    """Only validation guarantees the contract's columns; a bare table must not fail a registration."""
    bare = pa.table({"user_id": ["u1", "u2"]})
    write_table(LakePaths(settings.lake), "validated", "events", bare, None, snapshot_day=START.date())
    assert data_end_tags(settings) == {}
