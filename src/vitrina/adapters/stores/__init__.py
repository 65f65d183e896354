"""Serving stores of precomputed recommendations: one interface, SQLite and Redis backends.

Open the configured one with :func:`vitrina.bootstrap.open_store`; see :mod:`.base` for the contract.
"""

from vitrina.adapters.stores.base import (
    DEFAULT_KEEP,
    DEFAULT_TTL,
    Recommendation,
    RecsRecord,
    RecsStore,
    StoreUnavailableError,
    VersionError,
    VersionInfo,
    VersionWriter,
)

__all__ = [
    "DEFAULT_KEEP",
    "DEFAULT_TTL",
    "Recommendation",
    "RecsRecord",
    "RecsStore",
    "StoreUnavailableError",
    "VersionError",
    "VersionInfo",
    "VersionWriter",
]
