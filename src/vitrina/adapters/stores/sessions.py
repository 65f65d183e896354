"""What a shopper touched lately, kept by the API as events arrive, for users the batch has
not seen yet.

The batch publishes lists for the users of its data; a shopper first seen after it (a new
customer, a new device id) would get the popularity fallback until the next batch. ``POST
/events`` records each user's recent choices here (clicks, carts, purchases: an impression
is not a choice), and ``/recs`` builds such a user's list from them at request time
(:mod:`vitrina.serving.recs.session_lists`). The event buffer cannot answer "what did this
user do": it is read in arrival order and emptied as the lake takes its events.

A user keeps their ``keep`` most recent distinct products for ``ttl`` after their last event.
Two backends, the same contract (``tests/integration/test_session_history_contract.py``):
SQLite beside the embedded serving store, and the serving store's Redis (a sorted set per
user, scored by time, expiring with the session).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from vitrina.adapters.closes_on_exit import ClosesOnExit
from vitrina.adapters.events.base import EventRecord
from vitrina.adapters.sqlite_wal import open_wal
from vitrina.adapters.stores.base import to_us

DEFAULT_TTL = dt.timedelta(days=7)
DEFAULT_KEEP = 20
NOT_CHOICES = frozenset({"view"})  # impressions: shown, not chosen


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS touches (user_id TEXT NOT NULL, product_id TEXT NOT NULL, "
    "ts_us INTEGER NOT NULL, PRIMARY KEY (user_id, product_id)) WITHOUT ROWID"
)


class Touch(NamedTuple):
    """``user_id`` chose ``product_id`` at ``ts_us`` (epoch µs)."""

    user_id: str
    product_id: str
    ts_us: int


class SessionHistory(Protocol):
    """``record`` (synchronous: the events route runs in the threadpool) and ``recent``
    (awaited on the event loop by ``/recs``): a user's products, most recent first."""

    def record(self, touches: Sequence[Touch]) -> None: ...

    async def recent(self, user_id: str, limit: int) -> list[str]: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...


class SQLiteSessions(ClosesOnExit):
    """:class:`SessionHistory` in a SQLite file (WAL: the API's workers share it)."""

    def __init__(
        self,
        path: Path | str,
        *,
        ttl: dt.timedelta = DEFAULT_TTL,
        keep: int = DEFAULT_KEEP,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.ttl, self.keep, self._clock = ttl, keep, clock
        self._lock = threading.Lock()
        # NORMAL: a lost touch costs one cold-start hint.
        self._conn = open_wal(self.path, timeout_s=30, synchronous="NORMAL", schema=_SCHEMA)

    def _horizon_us(self) -> int:
        return int((self._clock() - self.ttl.total_seconds()) * 1_000_000)

    def record(self, touches: Sequence[Touch]) -> None:
        if not touches:
            return
        users = sorted({t.user_id for t in touches})
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO touches (user_id, product_id, ts_us) VALUES (?, ?, ?) "
                    "ON CONFLICT (user_id, product_id) DO UPDATE SET ts_us = max(ts_us, excluded.ts_us)",
                    touches,
                )
                for user in users:  # only the user's ``keep`` newest products stay
                    self._conn.execute(
                        "DELETE FROM touches WHERE user_id = ?1 AND product_id NOT IN (SELECT product_id "
                        "FROM touches WHERE user_id = ?1 ORDER BY ts_us DESC, product_id LIMIT ?2)",
                        (user, self.keep),
                    )
                self._conn.execute(
                    "DELETE FROM touches WHERE user_id IN (SELECT value FROM json_each(?)) AND ts_us < ?",
                    (json.dumps(users), self._horizon_us()),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    async def recent(self, user_id: str, limit: int) -> list[str]:
        """Microseconds on a primary-key range: read inline, like the embedded store."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT product_id FROM touches WHERE user_id = ? AND ts_us >= ? "
                "ORDER BY ts_us DESC, product_id LIMIT ?",
                (user_id, self._horizon_us(), limit),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    async def aclose(self) -> None:
        self.close()


def touches_of(events: Sequence[EventRecord]) -> list[Touch]:
    """The choices among ``events`` (impressions are not)."""
    return [Touch(e.user_id, e.product_id, to_us(e.ts)) for e in events if e.event_type not in NOT_CHOICES]
