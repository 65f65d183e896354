"""``POST /events``."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError

from vitrina.events import EventBufferUnavailableError, EventRecord
from vitrina.serving.deps import State, envelope
from vitrina.serving.schemas import ErrorResponse, EventsIn, EventsResponse
from vitrina.serving.state import ServingState

router = APIRouter(tags=["events"])


def accept(events: EventsIn, received: dt.datetime, future_skew_minutes: float) -> list[EventRecord]:
    """The batch as records, or a 422 naming the events whose ``ts`` is later than the events
    contract allows (``received + future_skew_minutes``: validation would quarantine them).
    The model already holds every other rule of the contract; this one needs the clock."""
    latest = received + dt.timedelta(minutes=future_skew_minutes)
    rows = events.rows()
    late = [
        {
            "loc": ("body", "events", i, "ts"),
            "msg": f"in the future: later than the time of receipt + {future_skew_minutes:g} min",
            "type": "ts_in_the_future",
        }
        for i, row in enumerate(rows)
        if row["ts"] is not None and row["ts"] > latest
    ]
    if late:
        raise RequestValidationError(late)
    return [EventRecord(**{**row, "ts": row["ts"] or received}) for row in rows]


def _count(state: ServingState, records: list[EventRecord], duplicates: tuple[str, ...]) -> None:
    """Metrics of the accepted events, attributed to the arm of their surface's experiment.
    The buffer accepts the first copy of an id in a batch, so the last copies are the duplicates."""
    surfaces = {"recs": state.experiment.recs, "search": state.experiment.search}
    repeats = Counter(duplicates)
    accepted = []
    for event in reversed(records):
        if repeats[event.event_id] > 0:
            repeats[event.event_id] -= 1
        else:
            accepted.append(event)
    for event in accepted:
        state.metrics.events_received.labels(event_type=event.event_type, page=event.page or "unknown").inc()
        experiment = surfaces.get(event.page or "")
        if experiment is not None and experiment.enabled:
            arm = experiment.arm(event.user_id)
            state.metrics.experiment_events.labels(
                experiment=experiment.name, arm=arm, event_type=event.event_type
            ).inc()


@router.post(
    "/events",
    status_code=202,
    response_model=EventsResponse,
    responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
def post_events(request: Request, state: State, body: EventsIn) -> EventsResponse:
    """Buffer a batch of events durably; idempotent by ``event_id`` (repeats are ignored)."""
    if state.events is None:
        raise HTTPException(503, f"the event buffer is unavailable: {state.errors.get('events')}")
    records = accept(body, dt.datetime.now(dt.UTC), state.settings.future_skew_minutes)
    try:
        result = state.events.append(records)
    except EventBufferUnavailableError as error:
        raise HTTPException(503, f"{error}; retry the batch (it is idempotent)") from error
    _count(state, records, result.duplicates)
    return EventsResponse(
        **envelope(request, state), accepted=result.accepted, duplicates=list(result.duplicates)
    )
