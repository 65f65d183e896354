"""Which backend ``settings.store_url`` selects, for every serving-side adapter (ARCHITECTURE "Backends").

The serving store and the search result cache follow one URL, ``VITRINA_STORE_URL``:

- unset or ``sqlite`` → SQLite, in files under ``$VITRINA_HOME/serving/``;
- ``sqlite:///relative/path`` or ``sqlite:////absolute/path`` → SQLite, the store in that
  file (each adapter keeps its own file in the same directory);
- ``redis://…``, ``rediss://…``, ``unix://…`` → Redis at that URL.

Only the parsing lives here; each adapter's factory builds its own objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def redact(url: str) -> str:
    """``url`` without its password, fit for error messages and logs."""
    return re.sub(r"//[^/@]*@", "//***@", url)


@dataclass(frozen=True)
class SQLiteBackend:
    """Embedded backend; ``path`` is the serving store's file."""

    path: Path


@dataclass(frozen=True)
class RedisBackend:
    """Redis at ``url`` (may carry a password: log it through :func:`redact`)."""

    url: str


Backend = SQLiteBackend | RedisBackend


def select_backend(url: str | None, *, default_sqlite: Path) -> Backend:
    """Parse ``VITRINA_STORE_URL`` (``url``); ``default_sqlite`` is the store's file when the
    URL is unset or plain ``sqlite``. Raises :class:`ValueError` for any other scheme."""
    if url is None or url == "sqlite":
        return SQLiteBackend(default_sqlite)
    if url.startswith("sqlite:///"):
        return SQLiteBackend(Path(url.removeprefix("sqlite:///")))
    if url.startswith(REDIS_SCHEMES):
        return RedisBackend(url)
    raise ValueError(
        "VITRINA_STORE_URL must be unset, 'sqlite', sqlite:///path or redis://…; "
        f"got {redact(url).split('@')[-1]!r}"
    )
