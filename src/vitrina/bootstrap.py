"""Build the adapters the settings select: the one place a URL or an engine name picks an
implementation (docs/architecture.md §4 "Backends", docs/adr/0016-layers.md).

* ``VITRINA_STORE_URL`` picks the serving store, its asynchronous reader and the search result
  cache: unset or ``sqlite`` → SQLite files under ``$VITRINA_HOME/serving/``; ``sqlite:///path``
  → the store in that file, the cache beside it; ``redis://``, ``rediss://``, ``unix://`` → Redis.
* ``VITRINA_EVENTS_URL`` picks the event buffer: unset or ``log`` → the embedded log under
  ``$VITRINA_HOME/events/``; a Redis URL → Redis Streams.
* ``VITRINA_ENGINE`` picks the engine of feature frames, batch inference and evaluation joins:
  ``duckdb`` (default; in-process numpy for the last two) or ``spark`` (on the master
  ``VITRINA_SPARK_MASTER`` names, ``local[2]`` by default).

Pipelines, serving and the CLI open adapters here. Adapters never import this module (they
take paths and URLs), and core never sees settings. A backend's module is imported only when
it is chosen, so an embedded setup never loads the Redis client or PySpark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vitrina.adapters.redis_keys import redact
from vitrina.adapters.stores.base import Clock, utc_now
from vitrina.config import Settings

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import SparkSession

    from vitrina.adapters.events.base import EventBuffer
    from vitrina.adapters.features.cutoffs import Cutoffs
    from vitrina.adapters.search_cache.base import ResultCache
    from vitrina.adapters.stores.base import RecsStore
    from vitrina.adapters.stores.redis_reader import AsyncRedisReader
    from vitrina.adapters.stores.sessions import SessionHistory

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
STORE_FILE = Path("serving") / "store.sqlite3"
CACHE_FILE_NAME = "search_cache.sqlite3"
EVENTS_FOLDER = Path("events")
SESSIONS_FILE_NAME = "sessions.sqlite3"


@dataclass(frozen=True)
class SQLiteBackend:
    """Embedded backend; ``path`` is the serving store's file."""

    path: Path


@dataclass(frozen=True)
class RedisBackend:
    """Redis at ``url`` (may carry a password: log it through :func:`redact`)."""

    url: str


def default_sqlite_path(settings: Settings) -> Path:
    """Where the embedded store lives when no URL is configured."""
    return settings.home / STORE_FILE


def store_backend(settings: Settings) -> SQLiteBackend | RedisBackend:
    """Parse ``VITRINA_STORE_URL``; :class:`ValueError` for any other scheme."""
    url = settings.store_url
    if url is None or url == "sqlite":
        return SQLiteBackend(default_sqlite_path(settings))
    if url.startswith("sqlite:///"):
        return SQLiteBackend(Path(url.removeprefix("sqlite:///")))
    if url.startswith(REDIS_SCHEMES):
        return RedisBackend(url)
    raise ValueError(
        "VITRINA_STORE_URL must be unset, 'sqlite', sqlite:///path or redis://…; "
        f"got {redact(url).split('@')[-1]!r}"
    )


def open_store(
    settings: Settings,
    *,
    ttl: dt.timedelta | None = None,
    keep: int | None = None,
    clock: Clock = utc_now,
) -> RecsStore:
    """The serving store with the given expiry and retention (default:
    ``settings.store_ttl_hours`` and ``settings.store_keep_versions``).

    Raises :class:`ValueError` for an unknown URL scheme and
    :class:`~vitrina.adapters.stores.base.StoreUnavailableError` when Redis cannot be reached
    (checked with a ``PING`` at once).
    """
    ttl = dt.timedelta(hours=settings.store_ttl_hours) if ttl is None else ttl
    keep = settings.store_keep_versions if keep is None else keep
    backend = store_backend(settings)
    if isinstance(backend, RedisBackend):
        from vitrina.adapters.stores.redis import RedisRecsStore

        return RedisRecsStore(backend.url, ttl=ttl, keep=keep, clock=clock)
    from vitrina.adapters.stores.sqlite import SQLiteRecsStore

    return SQLiteRecsStore(backend.path, ttl=ttl, keep=keep, clock=clock)


def open_store_reader(settings: Settings) -> AsyncRedisReader | None:
    """The event-loop reader of a Redis store (``/recs``'s fast read); None for SQLite, whose
    reads are fast enough inline."""
    backend = store_backend(settings)
    if not isinstance(backend, RedisBackend):
        return None
    from vitrina.adapters.stores.redis_reader import AsyncRedisReader

    return AsyncRedisReader(backend.url, timeout_s=settings.store_read_timeout_ms / 1000)


def open_sessions(settings: Settings) -> SessionHistory:
    """The shoppers' recent choices (request-time lists for users the batch has not seen), on
    the store's backend: SQLite ``sessions.sqlite3`` beside the store's file, or the store's
    Redis (keys ``vitrina:session:*``, read with the store's serving timeout)."""
    backend = store_backend(settings)
    if isinstance(backend, RedisBackend):
        from vitrina.adapters.stores.sessions_redis import RedisSessions

        return RedisSessions(backend.url, read_timeout_s=settings.store_read_timeout_ms / 1000)
    from vitrina.adapters.stores.sessions import SQLiteSessions

    return SQLiteSessions(backend.path.parent / SESSIONS_FILE_NAME)


def open_result_cache(
    settings: Settings, *, ttl: dt.timedelta | None = None, clock: Clock = utc_now
) -> ResultCache:
    """The search result cache on the store's backend, entries living ``ttl`` (default
    ``settings.search_cache_ttl_minutes``): SQLite ``search_cache.sqlite3`` beside the store's
    file, or the store's Redis (keys ``vitrina:search:*``). Raises :class:`ValueError` for an
    unknown URL scheme; an unreachable Redis does not raise (the cache starts degraded)."""
    ttl = dt.timedelta(minutes=settings.search_cache_ttl_minutes) if ttl is None else ttl
    backend = store_backend(settings)
    if isinstance(backend, RedisBackend):
        from vitrina.adapters.search_cache.redis import RedisResultCache

        return RedisResultCache(backend.url, ttl=ttl)
    from vitrina.adapters.search_cache.sqlite import SQLiteResultCache

    return SQLiteResultCache(backend.path.parent / CACHE_FILE_NAME, ttl=ttl, clock=clock)


def open_event_buffer(settings: Settings) -> EventBuffer:
    """The event buffer; raises :class:`ValueError` for an unknown URL and
    :class:`~vitrina.adapters.events.base.EventBufferUnavailableError` when it cannot be reached
    (Redis is checked with a ``PING``)."""
    url = settings.events_url
    ttl = dt.timedelta(hours=settings.events_dedup_hours)
    if url is None or url == "log":
        from vitrina.adapters.events.sqlite_buffer import EventLog

        return EventLog(settings.home / EVENTS_FOLDER, dedup_ttl=ttl)
    if url.startswith(REDIS_SCHEMES):
        from vitrina.adapters.events.redis_stream import RedisEventBuffer

        return RedisEventBuffer(url, dedup_ttl=ttl)
    raise ValueError(
        f"VITRINA_EVENTS_URL must be unset, 'log' or redis://…; got {redact(url).split('@')[-1]!r}"
    )


def compute_features_configured(
    settings: Settings, cutoffs: Cutoffs, frames: Iterable[str] | None = None
) -> dict[str, pa.Table]:
    """Feature frames as of ``cutoffs`` on ``settings.engine``; both engines run the same
    definitions and return the same rows.

    ``spark`` runs on :func:`spark_for` (the active session, or one on ``settings.spark_master``).
    """
    if settings.engine == "spark":
        from vitrina.adapters.features.spark_engine import compute_features_spark

        return compute_features_spark(spark_for(settings), settings.lake, cutoffs, frames)
    from vitrina.adapters.features import duckdb_engine

    return duckdb_engine.compute_features(settings, cutoffs, frames)


def spark_for(settings: Settings) -> SparkSession:
    """The process's Spark session, on ``settings.spark_master`` (taking ``settings.spark_cores``
    cores of a cluster) when this call creates it."""
    from vitrina.adapters.spark_session import spark_session

    return spark_session(settings.spark_master, cores=settings.spark_cores)
