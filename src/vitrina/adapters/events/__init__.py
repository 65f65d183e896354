"""Event intake (docs/spec.md §6, ARCHITECTURE "Backends"): ``POST /events`` appends to a durable
buffer; ``vitrina data ingest events`` flushes it into ``raw/events`` through the contracts.

One :class:`~vitrina.adapters.events.base.EventBuffer` interface, two backends: an embedded
append-only log in one SQLite file (default) and Redis Streams
(``VITRINA_EVENTS_URL=redis://…``). Open the configured one with
:func:`vitrina.bootstrap.open_event_buffer`; the flush is :mod:`vitrina.pipelines.ingest_events`.
"""

from vitrina.adapters.events.base import (
    AppendResult,
    BufferedEvent,
    BufferRecord,
    EventBuffer,
    EventBufferUnavailableError,
    EventRecord,
)
from vitrina.adapters.events.search_answers import SearchAnswerRecord

__all__ = [
    "AppendResult",
    "BufferRecord",
    "BufferedEvent",
    "EventBuffer",
    "EventBufferUnavailableError",
    "EventRecord",
    "SearchAnswerRecord",
]
