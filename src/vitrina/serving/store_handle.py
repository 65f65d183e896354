"""The serving store as the API holds it: opened lazily, re-opened after failures.

``remote`` tells callers whether a read may wait on the network (Redis) or is an embedded
file read of microseconds (SQLite), which the ``/recs`` route does on the event loop.

A store that cannot be opened or read raises :class:`StoreUnavailableError` to the caller
(which degrades to popularity); the :class:`~vitrina.serving.cache.base.Breaker` then keeps
callers off the backend for ``retry_after_s``, so a dead Redis costs one connection attempt
per period, not one per request.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from vitrina.config import Settings
from vitrina.serving.backends import RedisBackend, select_backend
from vitrina.serving.cache.base import Breaker
from vitrina.serving.stores import RecsRecord, RecsStore, StoreUnavailableError, open_store

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
        self.remote = isinstance(select_backend(settings.store_url, default_sqlite=Path()), RedisBackend)

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

    def get(self, user_id: str) -> RecsRecord | None:
        store = self.store()
        try:
            record = store.get(user_id)
        except FAILURES as error:
            self._failed(error)
            raise StoreUnavailableError(str(error)) from error
        if self._breaker.is_open:
            self._breaker.succeeded()
        return record

    def current_version(self) -> str | None:
        try:
            return self.store().current_version()
        except FAILURES as error:
            self._failed(error)
            return None

    def _failed(self, error: BaseException) -> None:
        self.last_error = str(error)
        if self._breaker.failed():
            log.warning("serving store failed (%s): degrading to popularity", error)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
