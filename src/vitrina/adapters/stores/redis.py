"""Production serving store on Redis (``VITRINA_STORE_URL=redis://…``).

Keys (``prefix`` defaults to ``vitrina:recs``)::

    {prefix}:v{version}:user:{user_id}   one user's record (JSON, see codec)
    {prefix}:v{version}:popular          the version's popularity fallback
    {prefix}:v{version}:{kind}:{key}     a keyed list (kind: similar, together, buy_again, discover)
    {prefix}:versions                    hash: version → bookkeeping JSON
    {prefix}:current                     the current version's name
    {prefix}:challenger                  the challenger's version's name (while one runs)

docs/spec.md §6 names the key ``user:{id}:recs``; here the version is part of the key so a new
batch is written beside the live one and published by rewriting the one pointer key
(``MULTI``: bookkeeping + pointer), instead of overwriting users one by one, which would
let readers see a mix. Record keys carry the version's absolute expiry (``SET … PXAT``),
so Redis reclaims a batch nobody republished; the pointer and the bookkeeping hash do not
expire. A read is one round trip: a server-side script reads the pointer and the record it
names atomically (``EVALSHA``; redis-py re-loads it after a server restart), so a reader
can neither see a mix nor a spurious miss while a publish moves the pointer — and the hot
path waits on the network once, not twice (``benchmarks/results/load.md``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

import redis

from vitrina.adapters.redis_keys import redact, unlink_prefix
from vitrina.adapters.stores.base import (
    CURRENT,
    DEFAULT_KEEP,
    DEFAULT_TTL,
    Clock,
    StoreUnavailableError,
    VersionInfo,
    to_us,
    utc_now,
)
from vitrina.adapters.stores.versioned import VersionedStore

P = ParamSpec("P")
R = TypeVar("R")
# KEYS[1]: the pointer; the record's key is ARGV[1] .. version .. ARGV[2]. Returns nil
# without a current version, else {version} or {version, record}.
READ_CURRENT = """
local current = redis.call('GET', KEYS[1])
if not current then return false end
return {current, redis.call('GET', ARGV[1] .. current .. ARGV[2])}
"""

# The same read for many records in one round trip: (version, payload or false per id).
READ_CURRENT_MANY = """
local current = redis.call('GET', KEYS[1])
if not current then return false end
local keys = {}
for i = 3, #ARGV do keys[#keys + 1] = ARGV[1] .. current .. ARGV[2] .. ARGV[i] end
local found = redis.call('MGET', unpack(keys))
table.insert(found, 1, current)
return found
"""


class RedisLayout:
    """The store's keys under ``prefix`` (see the module docstring)."""

    def __init__(self, prefix: str = "vitrina:recs") -> None:
        self.prefix = prefix.rstrip(":")
        self.current = f"{self.prefix}:current"
        self.versions = f"{self.prefix}:versions"

    def pointer(self, channel: str = CURRENT) -> str:
        """The key naming ``channel``'s version (``current`` or ``challenger``)."""
        return f"{self.prefix}:{channel}"

    def key(self, version: str, tail: str) -> str:
        return f"{self.prefix}:v{version}:{tail}"

    def read_current(self, tail: str, channel: str = CURRENT) -> tuple[list[str], list[str]]:
        """``keys`` and ``args`` of :data:`READ_CURRENT` for the record ``tail`` (``user:{id}``,
        ``popular``) of ``channel``'s version."""
        return [self.pointer(channel)], [f"{self.prefix}:v", f":{tail}"]

    def read_current_many(
        self, kind: str, ids: list[str], channel: str = CURRENT
    ) -> tuple[list[str], list[str]]:
        """``keys`` and ``args`` of :data:`READ_CURRENT_MANY` for the records ``{kind}:{id}``."""
        return [self.pointer(channel)], [f"{self.prefix}:v", f":{kind}:", *ids]


def unpack_current(found: list[str] | None) -> tuple[str | None, str | None]:
    """:data:`READ_CURRENT`'s answer as (current version, payload); None where absent."""
    if not found:
        return None, None
    return found[0], (found[1] if len(found) > 1 else None)


def _guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Turn connection failures into one clear :class:`StoreUnavailableError`."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            store = args[0]
            url = store.url if isinstance(store, RedisRecsStore) else "?"
            raise StoreUnavailableError(
                f"the Redis serving store at {url} is unreachable: {error}"
            ) from error

    return wrapper


class RedisRecsStore(VersionedStore):
    """The :class:`~vitrina.adapters.stores.base.RecsStore` on the Redis server at ``url``.

    Connecting is checked at once (``PING``), so a wrong URL fails here, not at first read.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "vitrina:recs",
        ttl: dt.timedelta = DEFAULT_TTL,
        keep: int = DEFAULT_KEEP,
        clock: Clock = utc_now,
        timeout_s: float = 5.0,
    ):
        super().__init__(ttl=ttl, keep=keep, clock=clock)
        self.url = redact(url)
        self.layout = RedisLayout(prefix)
        self.prefix = self.layout.prefix
        self._redis: redis.Redis = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
        )
        self._read_script = self._redis.register_script(READ_CURRENT)
        self._ping()

    @_guarded
    def _ping(self) -> None:
        self._redis.ping()

    def _key(self, version: str, tail: str) -> str:
        return self.layout.key(version, tail)

    @property
    def _versions_key(self) -> str:
        return self.layout.versions

    @property
    def _current_key(self) -> str:
        return self.layout.current

    @_guarded
    def _info(self, version: str) -> VersionInfo | None:
        raw: str | None = self._redis.hget(self._versions_key, version)  # type: ignore[assignment]
        return None if raw is None else VersionInfo.from_dict(json.loads(raw))

    @_guarded
    def _infos(self) -> list[VersionInfo]:
        raw: dict[str, str] = self._redis.hgetall(self._versions_key)  # type: ignore[assignment]
        return [VersionInfo.from_dict(json.loads(value)) for value in raw.values()]

    @_guarded
    def _save_info(self, info: VersionInfo) -> None:
        self._redis.hset(self._versions_key, info.version, json.dumps(info.to_dict()))

    @_guarded
    def _write_rows(self, info: VersionInfo, rows: Sequence[tuple[str, str]]) -> None:
        expires_ms = to_us(info.expires_at) // 1000
        pipe = self._redis.pipeline(transaction=False)
        for user_id, payload in rows:
            pipe.set(self._key(info.version, f"user:{user_id}"), payload, pxat=expires_ms)
        pipe.execute()

    @_guarded
    def _write_lists(self, info: VersionInfo, kind: str, rows: Sequence[tuple[str, str]]) -> None:
        expires_ms = to_us(info.expires_at) // 1000
        pipe = self._redis.pipeline(transaction=False)
        for key, payload in rows:
            pipe.set(self._key(info.version, f"{kind}:{key}"), payload, pxat=expires_ms)
        pipe.execute()

    @_guarded
    def _write_popular(self, info: VersionInfo, payload: str) -> None:
        expires_ms = to_us(info.expires_at) // 1000
        self._redis.set(self._key(info.version, "popular"), payload, pxat=expires_ms)

    @_guarded
    def _flip(self, info: VersionInfo, channel: str = CURRENT) -> None:
        pipe = self._redis.pipeline(transaction=True)  # MULTI … EXEC: both or neither
        pipe.hset(self._versions_key, info.version, json.dumps(info.to_dict()))
        pipe.set(self.layout.pointer(channel), info.version)
        pipe.execute()

    @_guarded
    def _unpoint(self, channel: str) -> None:
        self._redis.delete(self.layout.pointer(channel))

    @_guarded
    def _drop(self, version: str) -> None:
        unlink_prefix(self._redis, self._key(version, ""))
        self._redis.hdel(self._versions_key, version)

    @_guarded
    def _pointed(self, channel: str = CURRENT) -> str | None:
        value: str | None = self._redis.get(self.layout.pointer(channel))  # type: ignore[assignment]
        return value

    def _read_current(self, tail: str, channel: str = CURRENT) -> str | None:
        keys, args = self.layout.read_current(tail, channel)
        found: list[str] | None = self._read_script(keys=keys, args=args)  # type: ignore[assignment]
        return unpack_current(found)[1]

    @_guarded
    def _read(self, user_id: str, channel: str = CURRENT) -> str | None:
        return self._read_current(f"user:{user_id}", channel)

    @_guarded
    def _read_popular(self, channel: str = CURRENT) -> str | None:
        return self._read_current("popular", channel)

    @_guarded
    def _read_list(self, kind: str, key: str, channel: str = CURRENT) -> str | None:
        return self._read_current(f"{kind}:{key}", channel)

    def close(self) -> None:
        self._redis.close()

    @_guarded
    def remove_all(self) -> int:
        """Delete every key under this store's prefix (tests, decommissioning); returns how many."""
        return unlink_prefix(self._redis, f"{self.prefix}:")

    def __repr__(self) -> str:
        return f"RedisRecsStore({self.url!r}, prefix={self.prefix!r})"
