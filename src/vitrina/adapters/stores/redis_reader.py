"""The API's read path of the Redis store, on the event loop (``redis.asyncio``).

A ``/recs`` request reads one record. The lookups that one turn of the event loop starts
(the requests it just parsed) share one round trip: one ``EVALSHA`` of a script that reads
the current version and ``MGET``s their records, atomically, as
:class:`~vitrina.adapters.stores.redis.RedisRecsStore` reads one. Under load this is where the
CPU goes: redis-py spends ≈ 100 µs of client CPU per command, but only ≈ 20 µs per record
when 8 records share a command. A lone request still costs one round trip, with no wait
added.

Awaiting Redis on the event loop costs no thread hand-off. The serving-side socket timeout
is short (``VITRINA_STORE_READ_TIMEOUT_MS``, default 100 ms) and there are no retries. A slow
or hung Redis costs the requests in flight that timeout; then the caller answers with the
popularity fallback, and its circuit breaker keeps the next requests off Redis for a while.
The loop itself never waits. The synchronous store stays what batch publishing and the tests
use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from vitrina.adapters.redis_keys import redact
from vitrina.adapters.stores.base import CURRENT, Clock, RecsRecord, StoreUnavailableError, utc_now
from vitrina.adapters.stores.codec import decode_record
from vitrina.adapters.stores.redis import READ_CURRENT_MANY, RedisLayout

FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)
MAX_SHARED = 256  # records per round trip at most (one MGET)
Found = tuple[str | None, str | None]


class AsyncRedisReader:
    """Reads users' records of the current version at ``url``; connects on first use (on
    the event loop that awaits it)."""

    def __init__(self, url: str, *, timeout_s: float, prefix: str = "vitrina:recs", clock: Clock = utc_now):
        self.url = redact(url)
        self.clock = clock
        self.layout = RedisLayout(prefix)
        self._redis = redis.asyncio.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),  # one attempt: the fallback is the retry
        )
        self._script = self._redis.register_script(READ_CURRENT_MANY)
        self._next: dict[tuple[str, str], dict[str, list[asyncio.Future[Found]]]] = {}  # by kind, channel
        self._in_flight: set[asyncio.Task[None]] = set()
        self.round_trips = 0
        """Scripts sent so far (each answers every lookup that shared it)."""

    async def lookup(
        self, user_id: str, kind: str = "user", channel: str = CURRENT
    ) -> tuple[str | None, RecsRecord | None]:
        """(current version, the user's record in it): ``(None, None)`` without a published
        batch, ``(version, None)`` for a user without a list (or an expired one). ``kind``
        reads a keyed list instead (``similar``, ``together``, ``buy_again``; ``user_id`` is
        then its key). ``channel="challenger"`` reads the challenger's version instead of
        the current one. Raises :class:`StoreUnavailableError` when Redis fails or does not
        answer in time."""
        loop = asyncio.get_running_loop()
        batch = (kind, channel)
        waiting = self._next.get(batch)
        if waiting is None or len(waiting) >= MAX_SHARED:
            waiting = self._next[batch] = {}
            loop.call_soon(self._send, batch, waiting)  # after the callbacks of this turn
        answer: asyncio.Future[Found] = loop.create_future()
        waiting.setdefault(user_id, []).append(answer)
        version, payload = await answer
        record = None if payload is None else decode_record(user_id, payload, self.clock())
        return version, record

    def _send(self, batch: tuple[str, str], waiting: dict[str, list[asyncio.Future[Found]]]) -> None:
        if self._next.get(batch) is waiting:
            del self._next[batch]
        task = asyncio.ensure_future(self._read(batch, waiting))
        self._in_flight.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._in_flight.discard)

    async def _read(self, batch: tuple[str, str], waiting: dict[str, list[asyncio.Future[Found]]]) -> None:
        users = list(waiting)
        keys, args = self.layout.read_current_many(batch[0], users, batch[1])
        self.round_trips += 1
        try:
            found = await self._script(keys=keys, args=args)
        except FAILURES as error:
            message = f"{type(error).__name__}: {error}"
            failed = StoreUnavailableError(f"the Redis serving store at {self.url} failed: {message}")
            _settle(waiting, lambda future, _user: future.set_exception(failed))
            return
        version = found[0] if found else None
        payloads = found[1:] if found else [None] * len(users)
        answers = dict(zip(users, payloads, strict=True))
        _settle(waiting, lambda future, user: future.set_result((version, answers[user])))

    async def aclose(self) -> None:
        await self._redis.aclose()


def _settle(
    waiting: dict[str, list[asyncio.Future[Found]]], settle: Callable[[asyncio.Future[Found], str], None]
) -> None:
    """Apply ``settle`` to every waiting future not already done (a client that went away
    cancelled its own)."""
    for user, futures in waiting.items():
        for future in futures:
            if not future.done():
                settle(future, user)
