"""The event buffer's interface and records.

Contract of every backend (one suite, ``tests/integration/test_event_buffer_contract.py``):

- ``append(events)`` stores each event durably (fsync'd / acknowledged by Redis) unless its
  ``event_id`` is already in the buffer's de-duplication window; returns how many were new
  and which ids were duplicates. A batch is all-or-nothing per event, never half an event.
- ``read(limit)`` returns the oldest unflushed events in arrival order, each with an
  opaque ``offset`` (strictly increasing); reading does not consume.
- ``commit(offset)`` removes every event up to and including ``offset`` — call it only
  after those events are safely written elsewhere (write first, commit second: a crash in
  between re-delivers, never loses). Committing does not forget the ids: re-sending an
  already-flushed event within the window is still a duplicate.
- ``pending()`` counts unflushed events.

Besides events, the buffer holds the API's ``/search`` answers
(:class:`~vitrina.adapters.events.search_answers.SearchAnswerRecord`): every rule above holds
for them alike, and :func:`record_from_json` tells the two apart when they are read back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple, Protocol, Self

from vitrina.adapters.events.search_answers import KIND, SearchAnswerRecord
from vitrina.core.tables import EVENTS

EVENT_FIELDS: tuple[str, ...] = tuple(EVENTS.schema.names)


class EventBufferUnavailableError(RuntimeError):
    """The buffer's backend cannot be reached or written (the API answers 503: retry later)."""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event in the EVENTS contract's columns (``ts`` aware UTC)."""

    event_id: str
    user_id: str
    product_id: str
    event_type: str
    ts: dt.datetime
    session_id: str | None = None
    device: str | None = None
    page: str | None = None
    position: int | None = None
    request_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form (``ts`` as ISO-8601 with offset)."""
        data = {name: getattr(self, name) for name in EVENT_FIELDS}
        data["ts"] = self.ts.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EventRecord:
        ts = dt.datetime.fromisoformat(str(data["ts"]))
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=dt.UTC)
        position = data.get("position")
        return cls(
            event_id=str(data["event_id"]),
            user_id=str(data["user_id"]),
            product_id=str(data["product_id"]),
            event_type=str(data["event_type"]),
            ts=ts.astimezone(dt.UTC),
            session_id=data.get("session_id"),
            device=data.get("device"),
            page=data.get("page"),
            position=None if position is None else int(position),
            request_id=data.get("request_id"),
        )


BufferRecord = EventRecord | SearchAnswerRecord
"""What the buffer holds: an event, or a ``/search`` answer."""


def record_from_json(data: dict[str, Any]) -> BufferRecord:
    """A buffered body back as its record (a body without ``kind`` is an event)."""
    if data.get("kind") == KIND:
        return SearchAnswerRecord.from_json(data)
    return EventRecord.from_json(data)


class BufferedEvent(NamedTuple):
    """A record as read back, with the offset to commit once it is written elsewhere."""

    offset: str
    event: BufferRecord


@dataclass(frozen=True)
class AppendResult:
    """``accepted`` new events; ``duplicates`` the ids already seen (in request order)."""

    accepted: int
    duplicates: tuple[str, ...]


class EventBuffer(Protocol):
    """Durable, de-duplicating, append-only event buffer (see the module docstring)."""

    def append(self, events: Sequence[BufferRecord]) -> AppendResult: ...

    def read(self, limit: int) -> list[BufferedEvent]: ...

    def commit(self, offset: str) -> int: ...

    def pending(self) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...
