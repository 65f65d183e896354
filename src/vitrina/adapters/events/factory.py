"""Build the event buffer that ``settings.events_url`` selects (ARCHITECTURE "Backends").

Unset (or ``log``) → the embedded log under ``$VITRINA_HOME/events/``; ``redis://…``,
``rediss://…``, ``unix://…`` → Redis Streams at that URL (checked with a ``PING``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from vitrina.adapters.backends import REDIS_SCHEMES, redact
from vitrina.adapters.events.base import EventBuffer
from vitrina.config import Settings

EVENTS_FOLDER = Path("events")


def open_event_buffer(settings: Settings) -> EventBuffer:
    """The configured buffer; raises :class:`ValueError` for an unknown URL and
    :class:`~vitrina.adapters.events.base.EventBufferUnavailableError` when it cannot be reached."""
    url = settings.events_url
    ttl = dt.timedelta(hours=settings.events_dedup_hours)
    if url is None or url == "log":
        from vitrina.adapters.events.sqlite_buffer import EventLog

        return EventLog(settings.home / EVENTS_FOLDER, dedup_ttl=ttl)
    if url.startswith(REDIS_SCHEMES):
        from vitrina.adapters.events.redis_stream import RedisEventBuffer

        return RedisEventBuffer(url, dedup_ttl=ttl)
    raise ValueError(
        f"VITRINA_EVENTS_URL must be unset, 'log' or redis://…; got {redact(url).split('@')[-1]!r}"
    )
