"""Search result cache (docs/spec.md §4.7): one interface, SQLite and Redis backends.

Open the configured one with :func:`vitrina.bootstrap.open_result_cache`; key entries with
:func:`search_cache_key`; see :mod:`.base` for the contract (TTL, counters, degraded mode).
"""

from vitrina.adapters.search_cache.base import (
    DEFAULT_TTL,
    CacheStats,
    CacheUnavailableError,
    ResultCache,
)
from vitrina.adapters.search_cache.keys import search_cache_key

__all__ = [
    "DEFAULT_TTL",
    "CacheStats",
    "CacheUnavailableError",
    "ResultCache",
    "search_cache_key",
]
