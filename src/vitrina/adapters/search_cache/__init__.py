"""Search result cache (SPEC §4.7): one interface, SQLite and Redis backends.

Open the configured one with :func:`open_result_cache`; key entries with
:func:`search_cache_key`; see :mod:`.base` for the contract (TTL, counters, degraded mode).
"""

from vitrina.adapters.search_cache.base import (
    DEFAULT_TTL,
    CacheStats,
    CacheUnavailableError,
    ResultCache,
)
from vitrina.adapters.search_cache.factory import open_result_cache
from vitrina.adapters.search_cache.keys import search_cache_key

__all__ = [
    "DEFAULT_TTL",
    "CacheStats",
    "CacheUnavailableError",
    "ResultCache",
    "open_result_cache",
    "search_cache_key",
]
