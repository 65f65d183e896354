"""The session history's contract, on SQLite and on the real Redis: a user's recent choices,
newest first, distinct, at most ``keep``, impressions ignored, forgotten after ``ttl`` (SQLite's
clock is injected; Redis expires the key itself)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vitrina.adapters.events.base import EventRecord
from vitrina.adapters.stores.sessions import SessionHistory, SQLiteSessions, Touch, touches_of
from vitrina.adapters.stores.sessions_redis import RedisSessions

pytestmark = pytest.mark.integration

T0 = 1_780_000_000_000_000  # µs
Make = Callable[..., SessionHistory]


LOOP = asyncio.new_event_loop()  # one loop, as in the API: the Redis reader binds to it


@pytest.fixture(params=["sqlite", "redis"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    opened: list[SessionHistory] = []
    prefix = f"vitrina-test-{uuid.uuid4().hex[:12]}:session"

    def factory(**options: object) -> SessionHistory:
        history: SessionHistory
        if request.param == "sqlite":
            history = SQLiteSessions(tmp_path / "sessions.sqlite3", **options)  # type: ignore[arg-type]
        else:
            options.pop("clock", None)
            history = RedisSessions(request.getfixturevalue("redis_url"), prefix=prefix, **options)  # type: ignore[arg-type]
        opened.append(history)
        return history

    yield factory
    for history in opened:
        if isinstance(history, RedisSessions):
            history.remove_all()
        LOOP.run_until_complete(history.aclose())


def recent(history: SessionHistory, user: str, limit: int = 10) -> list[str]:
    return LOOP.run_until_complete(history.recent(user, limit))


def test_recent_choices_newest_first_distinct_and_capped(make: Make) -> None:
    history = make(keep=3, clock=lambda: T0 / 1e6)
    history.record([Touch("u1", "a", T0 - 50), Touch("u1", "b", T0 - 40), Touch("u2", "z", T0 - 30)])
    history.record([Touch("u1", "c", T0 - 20), Touch("u1", "a", T0 - 10), Touch("u1", "b", T0 - 45)])
    assert recent(history, "u1") == ["a", "c", "b"], (
        "a re-chosen is newest; an older touch of b changes nothing"
    )
    history.record([Touch("u1", "d", T0 - 5)])
    assert recent(history, "u1") == ["d", "a", "c"], "only the newest three stay"
    assert recent(history, "u1", limit=2) == ["d", "a"]
    assert recent(history, "u2") == ["z"]
    assert recent(history, "nobody") == []
    reader = make(keep=3, clock=lambda: T0 / 1e6)  # another process sees the same
    assert recent(reader, "u1") == ["d", "a", "c"]


def test_impressions_are_not_choices() -> None:
    ts = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    events = [
        EventRecord("e1", "u1", "p1", "view", ts),
        EventRecord("e2", "u1", "p2", "click", ts),
        EventRecord("e3", "u1", "p3", "purchase", ts + dt.timedelta(seconds=1)),
    ]
    touches = touches_of(events)
    assert [(t.product_id, t.ts_us) for t in touches] == [
        ("p2", 1_777_593_600_000_000),
        ("p3", 1_777_593_601_000_000),
    ]


def test_sessions_are_forgotten_after_their_ttl(make: Make, request: pytest.FixtureRequest) -> None:
    now = [T0 / 1e6]
    history = make(ttl=dt.timedelta(seconds=1), clock=lambda: now[0])
    history.record([Touch("u1", "a", T0)])
    assert recent(history, "u1") == ["a"]
    if isinstance(history, RedisSessions):
        time.sleep(1.2)  # the key's own expiry
    else:
        now[0] += 2.0
    assert recent(history, "u1") == []
