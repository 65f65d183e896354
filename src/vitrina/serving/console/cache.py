"""A small stale-while-revalidate cache for the console's slow reads (MLflow, DuckDB scans).

A page must answer in well under 300 ms, but opening the MLflow store or scanning the event
history costs more than that. :class:`Refreshing` keeps the last value of each key: within
``ttl`` seconds it is returned as is; after that it is still returned at once and a
background thread recomputes it (one at a time per key). Only the very first request for a
key waits for the computation (joining a warm-up already under way rather than starting a
second one); :meth:`Refreshing.warm` starts it ahead of time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class _Entry(Generic[T]):
    value: T
    at: float


@dataclass
class Refreshing(Generic[T]):
    """``get(key)`` → ``compute(key)``'s value, at most ``ttl`` seconds old before a refresh
    is started in the background. ``clock`` is injectable for tests."""

    compute: Callable[[Hashable], T]
    ttl: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _entries: dict[Hashable, _Entry[T]] = field(default_factory=dict)
    _inflight: dict[Hashable, threading.Event] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: Hashable) -> T:
        with self._lock:
            entry = self._entries.get(key)
            pending = self._inflight.get(key)
            start = entry is not None and pending is None and self.clock() - entry.at > self.ttl
            if start:
                self._inflight[key] = threading.Event()
        if entry is None:
            if pending is not None:  # a warm-up is computing it: wait for that one
                pending.wait()
                with self._lock:
                    entry = self._entries.get(key)
            return entry.value if entry is not None else self._store(key)
        if start:
            threading.Thread(target=self._refresh, args=(key,), daemon=True, name="console-cache").start()
        return entry.value

    def warm(self, key: Hashable) -> None:
        """Compute ``key`` in a background thread unless it is cached or being computed."""
        with self._lock:
            if key in self._entries or key in self._inflight:
                return
            self._inflight[key] = threading.Event()
        threading.Thread(target=self._refresh, args=(key,), daemon=True, name="console-cache").start()

    def wait(self, key: Hashable) -> None:
        """Block until a computation of ``key`` under way (e.g. a warm-up) has ended."""
        with self._lock:
            pending = self._inflight.get(key)
        if pending is not None:
            pending.wait()

    def invalidate(self) -> None:
        with self._lock:
            self._entries.clear()

    def _store(self, key: Hashable) -> T:
        value = self.compute(key)
        with self._lock:
            self._entries[key] = _Entry(value, self.clock())
        return value

    def _refresh(self, key: Hashable) -> None:
        try:
            self._store(key)
        except Exception:  # the stale value keeps serving; the next get retries
            log.exception("console cache refresh failed for %r", key)
        finally:
            with self._lock:
                done = self._inflight.pop(key, None)
            if done is not None:
                done.set()
