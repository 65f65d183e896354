"""``POST /events``."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from vitrina.adapters.events import EventBufferUnavailableError, EventRecord
from vitrina.adapters.stores.sessions import touches_of
from vitrina.serving.api_models import ErrorResponse
from vitrina.serving.deps import State, envelope
from vitrina.serving.event_models import EventsBatch, EventsResponse, events_model
from vitrina.serving.state import ServingState

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"])


def body_model(request: Request) -> type[EventsBatch]:
    """The events body of this app's shop contract (set by ``create_app``; the simulator's
    contract for an app built without one)."""
    model: type[EventsBatch] | None = getattr(request.app.state, "events_model", None)
    return model if model is not None else events_model()


async def parse_batch(request: Request) -> EventsBatch:
    """The body as the shop's ``EventsIn`` (:func:`body_model`), parsed and validated in the
    threadpool.

    FastAPI would parse the body with ``json.loads`` and then validate it, both on the event
    loop: ≈ 200 ms for a 2 MB batch of 150,000 keys, during which nothing else (``/health``
    included) is answered. Here pydantic parses and validates in one pass (about half the
    CPU) in a worker thread, so the loop gets its turns between the parser's stretches of
    native code. It is still work proportional to the body: ``VITRINA_MAX_BODY_BYTES``
    bounds it."""
    raw = await request.body()
    try:
        return await run_in_threadpool(body_model(request).model_validate_json, raw)
    except ValidationError as error:
        errors = error.errors(include_url=False, include_context=False, include_input=False)
        # the error holds the parsed input, its traceback the frames that hold the error:
        # cut the cycle, or each invalid batch stays in memory until a full collection
        error.__traceback__ = None
    raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors])


BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventsIn"}}},
}


def accept(events: EventsBatch, received: dt.datetime, future_skew_minutes: float) -> list[EventRecord]:
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


def _remember(state: ServingState, records: list[EventRecord]) -> None:
    """Keep the users' choices for request-time lists (users the batch has not seen). The
    events are already buffered: a session history that fails costs a hint, not the batch."""
    sessions = state.recs.sessions
    if sessions is None:
        return
    try:
        sessions.record(touches_of(records))
    except Exception as error:
        log.warning("session history not updated: %s", error)


@router.post(
    "/events",
    status_code=202,
    response_model=EventsResponse,
    responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    openapi_extra={"requestBody": BODY},  # parse_batch reads it (schema: vitrina.serving.openapi)
)
def post_events(
    request: Request, body: Annotated[EventsBatch, Depends(parse_batch)], state: State
) -> EventsResponse:
    """Buffer a batch of events durably; idempotent by ``event_id`` (repeats are ignored)."""
    if state.events is None:
        raise HTTPException(503, f"the event buffer is unavailable: {state.errors.get('events')}")
    records = accept(body, dt.datetime.now(dt.UTC), state.settings.future_skew_minutes)
    try:
        result = state.events.append(records)
    except EventBufferUnavailableError as error:
        raise HTTPException(503, f"{error}; retry the batch (it is idempotent)") from error
    _count(state, records, result.duplicates)
    _remember(state, records)
    return EventsResponse(
        **envelope(request, state), accepted=result.accepted, duplicates=list(result.duplicates)
    )
