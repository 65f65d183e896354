"""Build the serving store that ``settings.store_url`` selects (ARCHITECTURE "Backends").

The URL is parsed by :func:`vitrina.adapters.backends.select_backend`: SQLite file
``$VITRINA_HOME/serving/store.sqlite3`` by default (or the ``sqlite:///path`` given), or
Redis (checked with a ``PING`` at once).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from vitrina.adapters.backends import RedisBackend, select_backend
from vitrina.adapters.stores.base import Clock, RecsStore, utc_now
from vitrina.config import Settings

SQLITE_FILE = Path("serving") / "store.sqlite3"


def default_sqlite_path(settings: Settings) -> Path:
    """Where the embedded store lives when no URL is configured."""
    return settings.home / SQLITE_FILE


def open_store(
    settings: Settings,
    *,
    ttl: dt.timedelta | None = None,
    keep: int | None = None,
    clock: Clock = utc_now,
) -> RecsStore:
    """The store of ``settings.store_url`` with the given expiry and retention (default:
    ``settings.store_ttl_hours`` and ``settings.store_keep_versions``).

    Raises :class:`ValueError` for an unknown URL scheme and
    :class:`~vitrina.adapters.stores.base.StoreUnavailableError` when Redis cannot be reached.
    """
    ttl = dt.timedelta(hours=settings.store_ttl_hours) if ttl is None else ttl
    keep = settings.store_keep_versions if keep is None else keep
    backend = select_backend(settings.store_url, default_sqlite=default_sqlite_path(settings))
    if isinstance(backend, RedisBackend):
        from vitrina.adapters.stores.redis import RedisRecsStore

        return RedisRecsStore(backend.url, ttl=ttl, keep=keep, clock=clock)
    from vitrina.adapters.stores.sqlite import SQLiteRecsStore

    return SQLiteRecsStore(backend.path, ttl=ttl, keep=keep, clock=clock)
