"""The API's read path of the Redis store, on the event loop (``redis.asyncio``).

A ``/recs`` request reads one record: one ``EVALSHA`` round trip of the same script as
:class:`~vitrina.serving.stores.redis.RedisRecsStore` (pointer and record read atomically).
Awaiting it on the event loop costs no thread hand-off, and the serving-side socket timeout
is short (``VITRINA_STORE_READ_TIMEOUT_MS``, default 100 ms) with no retries: a slow or hung
Redis costs the requests in flight that timeout, then the caller answers with the popularity
fallback (and its circuit breaker keeps the next requests off Redis for a while) — the loop
itself never waits. The synchronous store stays what batch publishing and the tests use.
"""

from __future__ import annotations

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from vitrina.serving.backends import redact
from vitrina.serving.stores.base import Clock, RecsRecord, StoreUnavailableError, utc_now
from vitrina.serving.stores.codec import decode_record
from vitrina.serving.stores.redis import READ_CURRENT, RedisLayout, unpack_current

FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)


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
        self._script = self._redis.register_script(READ_CURRENT)

    async def lookup(self, user_id: str) -> tuple[str | None, RecsRecord | None]:
        """(current version, the user's record in it): ``(None, None)`` without a published
        batch, ``(version, None)`` for a user without a list (or an expired one). Raises
        :class:`StoreUnavailableError` when Redis fails or does not answer in time."""
        keys, args = self.layout.read_current(f"user:{user_id}")
        try:
            found = await self._script(keys=keys, args=args)
        except FAILURES as error:
            message = f"{type(error).__name__}: {error}"
            raise StoreUnavailableError(f"the Redis serving store at {self.url} failed: {message}") from error
        version, payload = unpack_current(found)
        record = None if payload is None else decode_record(user_id, payload, self.clock())
        return version, record

    async def aclose(self) -> None:
        await self._redis.aclose()
