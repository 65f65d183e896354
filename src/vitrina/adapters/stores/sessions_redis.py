""":class:`~vitrina.adapters.stores.sessions.SessionHistory` on the serving store's Redis.

Key ``{prefix}:{user_id}`` (``prefix`` defaults to ``vitrina:session``): a sorted set of
product ids scored by the time of their latest choice (µs), trimmed to the ``keep`` newest
and expiring ``ttl`` after the user's latest event — a recording is one pipeline
(``ZADD GT``, ``ZREMRANGEBYRANK``, ``PEXPIRE`` per user). ``recent`` is one ``ZRANGE … REV``
on the event loop (``redis.asyncio``) with the serving read timeout; a failure raises
:class:`~vitrina.adapters.stores.base.StoreUnavailableError` and ``/recs`` answers with popularity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from vitrina.adapters.closes_on_exit import ClosesOnExit
from vitrina.adapters.redis_keys import redact
from vitrina.adapters.stores.base import StoreUnavailableError
from vitrina.adapters.stores.sessions import DEFAULT_KEEP, DEFAULT_TTL, Touch

FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisSessions(ClosesOnExit):
    """Sessions at ``url`` (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "vitrina:session",
        ttl: dt.timedelta = DEFAULT_TTL,
        keep: int = DEFAULT_KEEP,
        timeout_s: float = 2.0,
        read_timeout_s: float = 0.1,
    ) -> None:
        self.url = redact(url)
        self.prefix = prefix.rstrip(":")
        self.ttl, self.keep = ttl, keep
        self._redis = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
        )
        self._async = redis.asyncio.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=read_timeout_s,
            socket_connect_timeout=read_timeout_s,
            retry=Retry(NoBackoff(), 0),
        )

    def key(self, user_id: str) -> str:
        return f"{self.prefix}:{user_id}"

    def record(self, touches: Sequence[Touch]) -> None:
        if not touches:
            return
        by_user: dict[str, dict[str, int]] = {}
        for touch in touches:
            latest = by_user.setdefault(touch.user_id, {})
            latest[touch.product_id] = max(latest.get(touch.product_id, 0), touch.ts_us)
        pipe = self._redis.pipeline(transaction=False)
        ttl_ms = int(self.ttl.total_seconds() * 1000)
        for user, products in by_user.items():
            key = self.key(user)
            pipe.zadd(key, {p: float(ts) for p, ts in products.items()}, gt=True)
            pipe.zremrangebyrank(key, 0, -self.keep - 1)
            pipe.pexpire(key, ttl_ms)
        try:
            pipe.execute()
        except FAILURES as error:
            raise StoreUnavailableError(f"the Redis session history at {self.url} failed: {error}") from error

    async def recent(self, user_id: str, limit: int) -> list[str]:
        try:
            found = await self._async.zrange(self.key(user_id), 0, limit - 1, desc=True)
        except FAILURES as error:
            raise StoreUnavailableError(f"the Redis session history at {self.url} failed: {error}") from error
        return [str(product) for product in found]

    def remove_all(self) -> None:
        """Delete every session under the prefix (tests)."""
        for key in self._redis.scan_iter(match=f"{self.prefix}:*", count=1000):
            self._redis.unlink(key)

    def close(self) -> None:
        self._redis.close()

    async def aclose(self) -> None:
        """Close both clients (the API's shutdown)."""
        self.close()
        await self._async.aclose()
