"""The serving store as the API holds it: opened lazily, re-opened after failures.

:meth:`StoreHandle.lookup` is the ``/recs`` read, awaited on the event loop: an embedded
SQLite read takes microseconds and runs inline (cheaper than a thread hand-off); a Redis read
is one ``EVALSHA`` through :class:`~vitrina.adapters.stores.redis_reader.AsyncRedisReader`,
with the short serving-side timeout ``VITRINA_STORE_READ_TIMEOUT_MS``. Everything else
(popularity list, versions for ``/ready``, reloads) uses the synchronous store.

A store that cannot be opened or read raises :class:`StoreUnavailableError` to the caller
(which degrades to popularity); the :class:`~vitrina.adapters.search_cache.base.Breaker` then keeps
callers off the backend for ``retry_after_s``, so a dead Redis costs one connection attempt
per period, not one per request.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from vitrina.adapters.search_cache.base import Breaker
from vitrina.adapters.stores import RecsRecord, RecsStore, StoreUnavailableError
from vitrina.adapters.stores.base import CURRENT
from vitrina.bootstrap import open_store, open_store_reader
from vitrina.config import Settings

log = logging.getLogger(__name__)

FAILURES = (StoreUnavailableError, sqlite3.Error, OSError)


class StoreHandle:
    """Thread-safe access to the store of ``settings`` (see the module docstring)."""

    def __init__(self, settings: Settings, retry_after_s: float = 5.0) -> None:
        self.settings = settings
        self._store: RecsStore | None = None
        self._breaker = Breaker(retry_after_s)
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self._reader = open_store_reader(settings)

    @property
    def available(self) -> bool:
        return self._store is not None and not self._breaker.is_open

    def store(self) -> RecsStore:
        """The open store; raises :class:`StoreUnavailableError` (quickly while the breaker is open)."""
        if not self._breaker.allow():
            raise StoreUnavailableError(f"serving store unavailable: {self.last_error}")
        with self._lock:
            if self._store is None:
                try:
                    self._store = open_store(self.settings)
                except FAILURES as error:
                    self._failed(error)
                    raise StoreUnavailableError(str(error)) from error
        return self._store

    def get(self, user_id: str, kind: str = "user", channel: str = CURRENT) -> RecsRecord | None:
        """``user_id``'s record, or with ``kind`` the keyed list of that kind under that key;
        ``channel="challenger"`` reads the registered challenger's version."""
        store = self.store()
        try:
            user = kind == "user"
            record = store.get(user_id, channel) if user else store.get_list(kind, user_id, channel)
        except FAILURES as error:
            self._failed(error)
            raise StoreUnavailableError(str(error)) from error
        if self._breaker.is_open:
            self._breaker.succeeded()
        return record

    async def lookup(
        self, user_id: str, kind: str = "user", channel: str = CURRENT
    ) -> tuple[str | None, RecsRecord | None]:
        """(current version, ``user_id``'s record in it); with ``kind``, the keyed list of that
        kind under the key ``user_id``; with ``channel="challenger"``, the same in the
        challenger's version; see
        :meth:`AsyncRedisReader.lookup <vitrina.adapters.stores.redis_reader.AsyncRedisReader.lookup>`.
        Raises :class:`StoreUnavailableError` (at once while the breaker is open)."""
        if self._reader is None:
            record = self.get(user_id, kind, channel)
            if record is not None:
                return record.version, record
            return (self.current_version() if channel == CURRENT else self.challenger_version()), None
        if not self._breaker.allow():
            raise StoreUnavailableError(f"serving store unavailable: {self.last_error}")
        try:
            found = await self._reader.lookup(user_id, kind, channel)
        except StoreUnavailableError as error:
            self._failed(error)
            raise
        if self._breaker.is_open:
            self._breaker.succeeded()
        return found

    def current_version(self) -> str | None:
        try:
            return self.store().current_version()
        except FAILURES as error:
            self._failed(error)
            return None

    def challenger_version(self) -> str | None:
        """The version the challenger pointer names (None: no challenger published, or the
        store is down)."""
        try:
            return self.store().challenger_version()
        except FAILURES as error:
            self._failed(error)
            return None

    def _failed(self, error: BaseException) -> None:
        self.last_error = str(error)
        if self._breaker.failed():
            log.warning("serving store failed (%s): degrading to popularity", error)

    def close(self) -> None:
        """Close the synchronous store (re-opened on next use); the reader stays."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def reopen(self) -> None:
        """Close the synchronous store and forget past failures, so the next use tries the
        backend at once: an operator's reload retries now, not after the breaker's period."""
        self.close()
        self._breaker.succeeded()

    async def aclose(self) -> None:
        """Close everything (the API's shutdown)."""
        self.close()
        if self._reader is not None:
            await self._reader.aclose()
