"""Build the serving store that ``settings.store_url`` selects (ARCHITECTURE "Backends").

- unset or ``sqlite`` → SQLite file ``$VITRINA_HOME/serving/store.sqlite3``;
- ``sqlite:///relative/path`` or ``sqlite:////absolute/path`` → SQLite file there;
- ``redis://…``, ``rediss://…``, ``unix://…`` → Redis (checked with a ``PING`` at once).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from vitrina.config import Settings
from vitrina.serving.stores.base import Clock, RecsStore, utc_now

SQLITE_FILE = Path("serving") / "store.sqlite3"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


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
    :class:`~vitrina.serving.stores.base.StoreUnavailableError` when Redis cannot be reached.
    """
    ttl = dt.timedelta(hours=settings.store_ttl_hours) if ttl is None else ttl
    keep = settings.store_keep_versions if keep is None else keep
    url = settings.store_url
    if url is None or url == "sqlite":
        from vitrina.serving.stores.sqlite import SQLiteRecsStore

        return SQLiteRecsStore(default_sqlite_path(settings), ttl=ttl, keep=keep, clock=clock)
    if url.startswith("sqlite:///"):
        from vitrina.serving.stores.sqlite import SQLiteRecsStore

        return SQLiteRecsStore(Path(url.removeprefix("sqlite:///")), ttl=ttl, keep=keep, clock=clock)
    if url.startswith(_REDIS_SCHEMES):
        from vitrina.serving.stores.redis import RedisRecsStore

        return RedisRecsStore(url, ttl=ttl, keep=keep, clock=clock)
    raise ValueError(
        f"VITRINA_STORE_URL must be unset, 'sqlite', sqlite:///path or redis://…; got {url.split('@')[-1]!r}"
    )
