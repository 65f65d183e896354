"""Build the search cache that ``settings.store_url`` selects: the same backend as the store.

SQLite (default): ``search_cache.sqlite3`` beside the store's file (``$VITRINA_HOME/serving/``
unless ``sqlite:///path`` moved the store). Redis: the store's server, keys ``vitrina:search:*``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from vitrina.adapters.backends import RedisBackend, select_backend
from vitrina.adapters.search_cache.base import ResultCache
from vitrina.adapters.stores.base import Clock, utc_now
from vitrina.adapters.stores.factory import default_sqlite_path
from vitrina.config import Settings

SQLITE_NAME = "search_cache.sqlite3"


def cache_sqlite_path(store_path: Path) -> Path:
    """The embedded cache's file for a serving store at ``store_path``."""
    return store_path.parent / SQLITE_NAME


def open_result_cache(
    settings: Settings, *, ttl: dt.timedelta | None = None, clock: Clock = utc_now
) -> ResultCache:
    """The cache of ``settings.store_url`` with entries living ``ttl`` (default
    ``settings.search_cache_ttl_minutes``). Raises :class:`ValueError` for an unknown URL
    scheme; an unreachable Redis does not raise (the cache starts degraded)."""
    ttl = dt.timedelta(minutes=settings.search_cache_ttl_minutes) if ttl is None else ttl
    backend = select_backend(settings.store_url, default_sqlite=default_sqlite_path(settings))
    if isinstance(backend, RedisBackend):
        from vitrina.adapters.search_cache.redis import RedisResultCache

        return RedisResultCache(backend.url, ttl=ttl)
    from vitrina.adapters.search_cache.sqlite import SQLiteResultCache

    return SQLiteResultCache(cache_sqlite_path(backend.path), ttl=ttl, clock=clock)
