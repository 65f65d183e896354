"""The body of ``POST /events``, derived from the shop's EVENTS contract.

What the API accepts is what validation would accept: each column's type, range, vocabulary,
value maps and earliest date come from the same contract rules ``vitrina data validate`` holds
raw events to, so an acknowledged event is never quarantined later for a rule the API knew.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any, Literal

import pyarrow as pa
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    create_model,
    model_validator,
)

from vitrina.adapters.contracts.schemas import ColumnRule, column_rules
from vitrina.core.tables import EVENTS
from vitrina.serving.api_models import MAX_EVENTS, Envelope, Id, StrictBody, invalid
from vitrina.shop_config import ContractsConfig


def _in_utc(earliest: dt.datetime) -> AfterValidator:
    def check(value: dt.datetime) -> dt.datetime:
        try:
            utc = value.astimezone(dt.UTC)
        except OverflowError:
            raise invalid("ts_out_of_range", "outside the range of representable UTC times") from None
        if utc < earliest:
            raise invalid("ts_too_early", f"before {earliest:%Y-%m-%d}, the events contract's earliest time")
        return utc

    return AfterValidator(check)


def _logged(not_logged: tuple[str, ...]) -> BeforeValidator:
    """Refuse an event type the shop says it does not log, in those words (the enum's own
    message would only list the types it does log)."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and value in not_logged:
            raise invalid(
                "event_type_not_logged", f"{value!r} is not logged by this shop (contracts.event_types)"
            )
        return value

    return BeforeValidator(check)


def _mapped(mapping: dict[str, str]) -> AfterValidator:
    """The shop's spelling replaced by the value it stands for (``contracts.value_maps``)."""
    return AfterValidator(lambda value: mapping.get(value, value))


_EVENT_DOCS = {
    "event_id": "Idempotency key: a repeated id is ignored.",
    "ts": "When it happened (with a UTC offset); default: the time of receipt. Not before "
    "{earliest:%Y-%m-%d}, not later than the time of receipt + VITRINA_FUTURE_SKEW_MINUTES.",
    "request_id": "Of the response shown.",
}


def _event_field(rule: ColumnRule) -> tuple[Any, Any]:
    """The pydantic type and default of one EVENTS column, from the contract's rule for it.
    Strings that are not vocabularies are ids (the API's id pattern, stricter than the
    contract's "not empty"); an open vocabulary takes any non-empty text, as the contract does;
    a spelling of the shop's value maps is accepted and stored as the value it stands for;
    integers are strict (``true`` is not ``1``)."""
    kind: Any
    if pa.types.is_timestamp(rule.kind):
        assert rule.earliest is not None
        kind = Annotated[AwareDatetime, _in_utc(rule.earliest)]
    elif pa.types.is_integer(rule.kind):
        width = rule.kind.bit_width - 1
        bound = rule.bound
        low = bound.ge if bound is not None and bound.ge is not None else -(2**width)
        if bound is not None and bound.gt is not None:
            low = int(bound.gt) + 1
        high = bound.le if bound is not None and bound.le is not None else 2**width - 1
        kind = Annotated[int, Field(strict=True, ge=low, le=high)]
    elif rule.allowed is not None:
        spellings = tuple(source for source, _ in rule.value_map if source not in rule.allowed)
        kind = Literal[rule.allowed + spellings]
        not_logged = tuple(value for value in rule.not_logged if value not in dict(rule.value_map))
        if not_logged:
            kind = Annotated[kind, _logged(not_logged)]
    elif rule.open:
        kind = Annotated[str, StringConstraints(strict=True, min_length=1)]
    else:
        kind = Id
    if rule.value_map:  # stored as validation would keep it
        kind = Annotated[kind, _mapped(dict(rule.value_map))]
    doc = _EVENT_DOCS.get(rule.name, "").format(earliest=rule.earliest) or None
    if rule.name == "ts":  # required by the contract, filled in at receipt when absent
        return kind | None, Field(default=None, description=doc)
    if rule.required:
        return kind, Field(description=doc)
    return kind | None, Field(default=None, description=doc)


class EventsBatch(StrictBody):
    """A batch of events (``POST /events``); :func:`events_model` gives the model of one shop's
    contract, whose ``events`` are that contract's event model."""

    events: list[Any]

    @model_validator(mode="before")
    @classmethod
    def _batch_size(cls, data: Any) -> Any:
        """Refuse an oversized batch before validating its events (one error, not thousands)."""
        events = data.get("events") if isinstance(data, dict) else None
        if isinstance(events, list) and len(events) > MAX_EVENTS:
            raise invalid("too_many_events", f"at most {MAX_EVENTS} events per batch, got {len(events)}")
        return data

    def rows(self) -> list[dict[str, Any]]:
        """The events as dicts of the EVENTS columns (``ts`` in UTC, None when absent)."""
        events: list[BaseModel] = self.events
        return [event.model_dump() for event in events]


@functools.cache
def _event_model(rules: tuple[ColumnRule, ...]) -> type[StrictBody]:
    model: type[StrictBody] = create_model(  # type: ignore[call-overload]
        "EventIn",
        __base__=StrictBody,
        __doc__="One event of the EVENTS contract: its required columns, ranges and vocabularies.",
        **{rule.name: _event_field(rule) for rule in rules},
    )
    return model


@functools.cache
def _batch_model(rules: tuple[ColumnRule, ...]) -> type[EventsBatch]:
    event = _event_model(rules)
    model: type[EventsBatch] = create_model(  # type: ignore[call-overload]
        "EventsIn",
        __base__=EventsBatch,
        __doc__="A batch of events of the shop's EVENTS contract.",
        events=(Annotated[list[event], Field(min_length=1, max_length=MAX_EVENTS)], ...),  # type: ignore[valid-type,arg-type]
    )
    return model


def event_model(contract: ContractsConfig | None = None) -> type[StrictBody]:
    """One event under a shop's contract (default: the simulator's): the allowed values,
    earliest date and event types validation holds raw events to, so that what the API accepts
    validation accepts. One model per distinct contract."""
    return _event_model(tuple(column_rules(EVENTS, contract).values()))


def events_model(contract: ContractsConfig | None = None) -> type[EventsBatch]:
    """The body of ``POST /events`` under a shop's contract (a batch of :func:`event_model`)."""
    return _batch_model(tuple(column_rules(EVENTS, contract).values()))


EventIn = event_model()
"""An event under the simulator's contract (no shop file)."""
EventsIn = events_model()
"""The events body under the simulator's contract (no shop file)."""


class EventsResponse(Envelope):
    accepted: int = Field(description="New events buffered.")
    duplicates: list[str] = Field(description="Event ids already received (ignored).")
