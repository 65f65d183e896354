"""Event intake (SPEC §6, ARCHITECTURE "Backends"): ``POST /events`` appends to a durable
buffer; ``vitrina data ingest events`` flushes it into ``raw/events`` through the contracts.

One :class:`~vitrina.adapters.events.base.EventBuffer` interface, two backends: an embedded
append-only log in one SQLite file (default) and Redis Streams
(``VITRINA_EVENTS_URL=redis://…``). Open the configured one with :func:`open_event_buffer`.
"""

from vitrina.adapters.events.base import (
    AppendResult,
    BufferedEvent,
    EventBuffer,
    EventBufferUnavailableError,
    EventRecord,
)
from vitrina.adapters.events.factory import open_event_buffer
from vitrina.pipelines.ingest_events import FlushReport, flush_events

__all__ = [
    "AppendResult",
    "BufferedEvent",
    "EventBuffer",
    "EventBufferUnavailableError",
    "EventRecord",
    "FlushReport",
    "flush_events",
    "open_event_buffer",
]
