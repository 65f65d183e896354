"""The search result cache: interface, counters, and the degrade-don't-fail guard (docs/spec.md §4.7, §6).

A cache maps a key (:func:`~vitrina.adapters.search_cache.keys.search_cache_key`) to opaque bytes
(the engine's encoded result page) for ``ttl`` (default 30 min). It is an accelerator,
never a dependency: when the backend fails (Redis down, SQLite file locked) ``get``
answers a miss and ``set`` does nothing, the failure is counted in ``errors`` and logged
once, and the backend is left alone for ``retry_after_s`` (a circuit breaker) so a dead
server costs one timeout per period, not one per query. ``clear`` is an operator action
and raises :class:`CacheUnavailableError` instead.

Counters feed the cache-hit-rate metric: every ``get`` is a hit or a miss (a degraded
``get`` is a miss, since the search had to be computed); ``errors`` counts the ``get`` and
``set`` calls that did not reach the backend (failed or skipped while the breaker is open).

Two implementations pass one contract suite (``tests/integration/
test_search_cache_contract.py``): SQLite (embedded default) and Redis (production).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import NamedTuple, Protocol, Self, TypeVar

from vitrina.adapters.closes_on_exit import ClosesOnExit

log = logging.getLogger(__name__)

DEFAULT_TTL = dt.timedelta(minutes=30)  # docs/spec.md §4.7
MAX_KEY_CHARS = 256
T = TypeVar("T")


class CacheUnavailableError(RuntimeError):
    """The cache's backend cannot be reached (raised by ``clear`` only; reads and writes degrade)."""


class CacheStats(NamedTuple):
    """Counters since the cache was opened (this process only)."""

    hits: int
    misses: int
    errors: int

    @property
    def hit_rate(self) -> float:
        """hits / (hits + misses); 0.0 before the first ``get``."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class ResultCache(Protocol):
    """Key → bytes with a time to live; see the module docstring for the failure contract.

    - ``get(key)``: the value, or None when absent, expired or the backend failed;
    - ``set(key, value, ttl=None)``: store ``value`` for ``ttl`` (default: the cache's
      ``ttl``), replacing any previous value;
    - ``clear()``: delete every entry of this cache; returns how many were deleted.
    """

    ttl: dt.timedelta

    @property
    def hits(self) -> int: ...

    @property
    def misses(self) -> int: ...

    @property
    def errors(self) -> int: ...

    @property
    def degraded(self) -> bool: ...

    def stats(self) -> CacheStats: ...

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl: dt.timedelta | None = None) -> None: ...

    def clear(self) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...


class Breaker:
    """Circuit breaker: after a failure, calls are refused for ``retry_after_s`` seconds; then
    one call is let through as a trial (the others keep being refused until it ends).

    ``clock`` is monotonic seconds (injectable for tests).
    """

    def __init__(self, retry_after_s: float, clock: Callable[[], float] = time.monotonic):
        if retry_after_s < 0:
            raise ValueError(f"retry_after_s must be ≥ 0, got {retry_after_s}")
        self.retry_after_s = retry_after_s
        self._clock = clock
        self._open_until: float | None = None
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def allow(self) -> bool:
        """Whether a call may try the backend now."""
        with self._lock:
            if self._open_until is None:
                return True
            now = self._clock()
            if now < self._open_until:
                return False
            self._open_until = now + self.retry_after_s  # this caller is the trial
            return True

    def failed(self) -> bool:
        """Record a failure; True when this opened a closed breaker (worth one log line)."""
        with self._lock:
            was_closed = self._open_until is None
            self._open_until = self._clock() + self.retry_after_s
            return was_closed

    def succeeded(self) -> None:
        with self._lock:
            self._open_until = None


def check_entry(key: str, value: bytes | None = None, ttl: dt.timedelta | None = None) -> None:
    """Refuse malformed calls (programming errors, raised even when the backend is down)."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
        raise ValueError(f"cache keys are non-empty strings of ≤ {MAX_KEY_CHARS} characters, got {key!r}")
    if value is not None and not isinstance(value, bytes):
        raise TypeError(f"cache values are bytes, got {type(value).__name__}")
    if ttl is not None and ttl <= dt.timedelta(0):
        raise ValueError(f"ttl must be positive, got {ttl}")


class GuardedCache(ClosesOnExit, ABC):
    """Shared behaviour of every backend: validation, counters, breaker; subclasses implement
    the ``_``-prefixed primitives and name the exceptions that mean "backend failed"."""

    failures: tuple[type[Exception], ...] = ()
    """Exception types of the backend that degrade the cache instead of propagating."""

    def __init__(
        self,
        *,
        ttl: dt.timedelta = DEFAULT_TTL,
        retry_after_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        if ttl <= dt.timedelta(0):
            raise ValueError(f"ttl must be positive, got {ttl}")
        self.ttl = ttl
        self._breaker = Breaker(retry_after_s, monotonic)
        self._counts = {"hits": 0, "misses": 0, "errors": 0}
        self._count_lock = threading.Lock()

    # --- storage primitives -------------------------------------------------------------
    @abstractmethod
    def _get(self, key: str) -> bytes | None: ...

    @abstractmethod
    def _set(self, key: str, value: bytes, ttl: dt.timedelta) -> None: ...

    @abstractmethod
    def _clear(self) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    # --- the contract -------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        check_entry(key)
        value = self._guarded(self._get, None, key)
        self._count("misses" if value is None else "hits")
        return value

    def set(self, key: str, value: bytes, ttl: dt.timedelta | None = None) -> None:
        check_entry(key, value, ttl)
        self._guarded(self._set, None, key, value, self.ttl if ttl is None else ttl)

    def clear(self) -> int:
        try:
            removed = self._clear()
        except self.failures as error:
            raise CacheUnavailableError(f"{self!r} is unavailable: {error}") from error
        self._breaker.succeeded()
        return removed

    @property
    def hits(self) -> int:
        return self._counts["hits"]

    @property
    def misses(self) -> int:
        return self._counts["misses"]

    @property
    def errors(self) -> int:
        return self._counts["errors"]

    def stats(self) -> CacheStats:
        with self._count_lock:
            return CacheStats(**self._counts)

    @property
    def degraded(self) -> bool:
        """Whether the last call to the backend failed (the breaker is open)."""
        return self._breaker.is_open

    def _count(self, name: str) -> None:
        with self._count_lock:
            self._counts[name] += 1

    def _guarded(self, call: Callable[..., T], fallback: T, *args: object) -> T:
        if not self._breaker.allow():
            self._count("errors")
            return fallback
        try:
            result = call(*args)
        except self.failures as error:
            self._count("errors")
            if self._breaker.failed():
                log.warning(
                    "%r failed (%s); serving without it, retrying every %.1f s",
                    self,
                    error,
                    self._breaker.retry_after_s,
                )
            return fallback
        if self._breaker.is_open:  # the trial call went through: close it
            self._breaker.succeeded()
        return result
