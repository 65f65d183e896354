"""The production event buffer on Redis Streams (``VITRINA_EVENTS_URL=redis://…``).

Keys (``prefix`` defaults to ``vitrina:events``)::

    {prefix}:stream          the stream; one entry per event, field ``e`` = event JSON
    {prefix}:seen:{id}       de-duplication marker, expires after ``dedup_ttl``

An append is one Lua script (atomic on the server): for each event, ``SET seen NX PX``
then ``XADD`` only if the marker was new — so an id is buffered at most once per window,
across every API replica. Offsets are stream entry ids; :meth:`RedisEventBuffer.commit`
trims entries up to and including the offset (``XTRIM MINID`` to the next id); entry ids
grow in the order the scripts run, so a reader that saw an id saw every earlier entry.

Durability is the server's: an append is acknowledged once Redis has applied the script,
so an acknowledged event survives a Redis restart only with the append-only file on
(``appendonly yes``), and a power loss only with ``appendfsync always`` (``everysec`` may
lose the last second). Opening the buffer logs a warning when the server's AOF is off.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from typing import Any

import redis

from vitrina.adapters.closes_on_exit import ClosesOnExit
from vitrina.adapters.events.base import (
    AppendResult,
    BufferedEvent,
    BufferRecord,
    EventBufferUnavailableError,
    record_from_json,
)
from vitrina.adapters.redis_keys import redact

log = logging.getLogger(__name__)

DEFAULT_DEDUP_TTL = dt.timedelta(days=7)
_APPEND = """
local added = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
    added[#added + 1] = 1
  else
    added[#added + 1] = 0
  end
end
return added
"""
_FAILURES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _next_id(entry_id: str) -> str:
    millis, _, seq = entry_id.partition("-")
    return f"{int(millis)}-{int(seq or 0) + 1}"


class RedisEventBuffer(ClosesOnExit):
    """:class:`~vitrina.adapters.events.base.EventBuffer` on the Redis server at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "vitrina:events",
        dedup_ttl: dt.timedelta = DEFAULT_DEDUP_TTL,
        timeout_s: float = 2.0,
    ) -> None:
        self.url = redact(url)
        self.prefix = prefix.rstrip(":")
        self.dedup_ttl = dedup_ttl
        self._redis: redis.Redis = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
        )
        self._script = self._redis.register_script(_APPEND)
        self._call(self._redis.ping)
        self.aof_enabled = self._aof_enabled()
        if self.aof_enabled is False:
            log.warning(
                "the Redis event buffer at %s has its append-only file off: acknowledged "
                "events are lost if Redis restarts before its next snapshot (set appendonly yes)",
                self.url,
            )

    def _aof_enabled(self) -> bool | None:
        """Whether the server persists every write (None: ``INFO`` is not allowed here)."""
        try:
            info = self._call(self._redis.info, "persistence")
        except redis.exceptions.ResponseError:
            return None
        return bool(int(info.get("aof_enabled", 0)))

    @property
    def stream(self) -> str:
        return f"{self.prefix}:stream"

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _FAILURES as error:
            raise EventBufferUnavailableError(
                f"the Redis event buffer at {self.url} is unreachable: {error}"
            ) from error

    def append(self, events: Sequence[BufferRecord]) -> AppendResult:
        if not events:
            return AppendResult(0, ())
        keys = [self.stream] + [f"{self.prefix}:seen:{e.event_id}" for e in events]
        args = [int(self.dedup_ttl.total_seconds() * 1000)] + [json.dumps(e.to_json()) for e in events]
        added = self._call(self._script, keys=keys, args=args)
        duplicates = tuple(e.event_id for e, flag in zip(events, added, strict=True) if not int(flag))
        return AppendResult(accepted=len(events) - len(duplicates), duplicates=duplicates)

    def read(self, limit: int) -> list[BufferedEvent]:
        if limit < 1:
            raise ValueError(f"limit must be ≥ 1, got {limit}")
        entries = self._call(self._redis.xrange, self.stream, "-", "+", count=limit)
        return [BufferedEvent(str(i), record_from_json(json.loads(f["e"]))) for i, f in entries]

    def commit(self, offset: str) -> int:
        return int(self._call(self._redis.xtrim, self.stream, minid=_next_id(offset), approximate=False))

    def pending(self) -> int:
        return int(self._call(self._redis.xlen, self.stream))

    def close(self) -> None:
        self._redis.close()
