"""Production search cache on Redis (``VITRINA_STORE_URL=redis://…``): keys ``vitrina:search:{hash}``.

Each entry is one ``PSETEX`` (value + millisecond TTL in one command), so Redis itself
expires entries; memory is bounded by the server's ``maxmemory`` policy (``volatile-ttl``
or ``allkeys-lru`` suit a cache). Unlike the serving store, opening never fails when the
server is down: the cache starts degraded and retries (see :mod:`.base`). To keep a dead
server from adding latency to searches, the client gets short socket timeouts and no
retries (redis-py's default retries ten times with backoff).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from vitrina.adapters.redis_keys import redact, unlink_prefix
from vitrina.adapters.search_cache.base import DEFAULT_TTL, GuardedCache

DEFAULT_PREFIX = "vitrina:search:"


class RedisResultCache(GuardedCache):
    """The :class:`~vitrina.adapters.search_cache.base.ResultCache` on the Redis server at ``url``."""

    failures = (redis.RedisError,)

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: dt.timedelta = DEFAULT_TTL,
        timeout_s: float = 0.1,
        retry_after_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        super().__init__(ttl=ttl, retry_after_s=retry_after_s, monotonic=monotonic)
        if not prefix:
            raise ValueError("the Redis cache needs a non-empty key prefix (clear() deletes under it)")
        self.url = redact(url)
        self.prefix = prefix
        self._redis: redis.Redis = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )

    def _get(self, key: str) -> bytes | None:
        value: bytes | None = self._redis.get(self.prefix + key)  # type: ignore[assignment]
        return value

    def _set(self, key: str, value: bytes, ttl: dt.timedelta) -> None:
        self._redis.psetex(self.prefix + key, max(1, ttl // dt.timedelta(milliseconds=1)), value)

    def _clear(self) -> int:
        return unlink_prefix(self._redis, self.prefix)

    def close(self) -> None:
        self._redis.close()

    def __repr__(self) -> str:
        return f"RedisResultCache({self.url!r}, prefix={self.prefix!r})"
