"""The API's event model is the EVENTS contract: what ``POST /events`` accepts, validation
accepts, and what the contract rejects the API answers 422 (never 202, never 500).

The property drives the API's own acceptance (the body model, then the route's clock check)
with events drawn around every rule's edges, and runs each accepted event, as the flush
writes it, through the contract's validation of one table (references included)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa
import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from vitrina.adapters.contracts.coerce import RawFile
from vitrina.adapters.contracts.integrity import Reference
from vitrina.adapters.contracts.schemas import column_rules
from vitrina.adapters.events.base import EVENT_FIELDS
from vitrina.core.tables import DEVICES, EVENT_TYPES, EVENTS, PAGES
from vitrina.pipelines.validate import check_table
from vitrina.serving.event_models import EventIn, EventsIn
from vitrina.serving.routes.events import accept

pytestmark = pytest.mark.unit

RECEIVED = dt.datetime(2026, 6, 3, 12, 0, tzinfo=dt.UTC)
SKEW_MINUTES = 5.0
# Validation runs later, and a later "now" accepts more: validating at the time of receipt is
# the strictest reading of the contract.
VALIDATED_AT = RECEIVED

MISSING = object()
valid_ids = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Cf", "Zs", "Zl", "Zp")), min_size=1, max_size=12
)
hostile_ids = st.sampled_from(
    ["", " ", "a b", "\x85x", "x\u2028", "\ufeff", "\x00", "a" * 129, 7, None, MISSING]
)
valid_times = st.one_of(
    st.just(MISSING),
    # the edges: the latest instant the contract allows at receipt, the earliest it ever allows
    st.sampled_from(["2026-06-03T12:05:00Z", "2026-06-03T19:05:00+07:00", "2000-01-01T00:00:00Z"]),
    st.datetimes(
        min_value=dt.datetime(2000, 1, 1, 14),
        max_value=dt.datetime(2026, 6, 3, 12),
        timezones=st.sampled_from(
            [dt.UTC, dt.timezone(dt.timedelta(hours=-14)), dt.timezone(dt.timedelta(hours=5))]
        ),
    ).map(lambda t: t.isoformat()),
)
hostile_times = st.one_of(
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(9999, 12, 31)).map(
        lambda t: t.isoformat() + "Z"
    ),
    st.sampled_from(
        [
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+14:00",
            "2026-06-03T12:04:59Z",
            "2026-06-03T12:05:01Z",
            "2000-01-01T00:00:00Z",
            "1999-12-31T23:59:59.999999Z",
            "2026-06-03T12:00:00",
            "soon",
            1_780_000_000,
            None,
        ]
    ),
)


def edges(valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid value (so that events get accepted), now and then one at an edge."""
    return st.integers(0, 7).flatmap(lambda i: hostile if i == 7 else valid)


def optional(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(MISSING), st.none(), valid)


FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "event_id": edges(valid_ids, hostile_ids),
    "user_id": edges(valid_ids, hostile_ids),
    "product_id": edges(valid_ids, hostile_ids),
    "event_type": edges(
        st.sampled_from(EVENT_TYPES), st.sampled_from(["", "VIEW", "wishlist", None, MISSING])
    ),
    "ts": edges(valid_times, hostile_times),
    "session_id": edges(valid_ids, hostile_ids),
    "device": edges(st.sampled_from(DEVICES), st.sampled_from(["", "tv", None, MISSING])),
    "page": edges(st.sampled_from(PAGES), st.sampled_from(["", "checkout", None, MISSING])),
    "position": edges(
        optional(st.integers(1, 2**31 - 1)),
        st.sampled_from([0, -1, True, False, 1.0, 1.5, "2", 2**31, 2**63]),
    ),
    "request_id": edges(optional(valid_ids), hostile_ids),
    "extra": edges(st.just(MISSING), st.sampled_from([1, "x", None])),
}
event_dicts = st.fixed_dictionaries(FIELDS).map(lambda d: {k: v for k, v in d.items() if v is not MISSING})


def api_accepts(event: dict[str, Any]) -> dict[str, Any] | None:
    """The record ``POST /events`` would buffer, or None when it answers 422."""
    try:
        body = EventsIn.model_validate_json(json.dumps({"events": [event]}))
        [record] = accept(body, RECEIVED, SKEW_MINUTES)
    except (ValidationError, RequestValidationError):
        return None
    return {name: getattr(record, name) for name in EVENT_FIELDS}


def contract_reasons(row: dict[str, Any]) -> dict[str, int]:
    """The contract's verdict on one row written as the flush writes it (``events_table``)."""
    table = pa.Table.from_pylist([row], schema=EVENTS.schema)
    known = {
        "catalog": pa.array([row["product_id"]], pa.string()),
        "users": pa.array([row["user_id"]], pa.string()),
    }
    references = {name: Reference(valid=ids, known=ids) for name, ids in known.items()}
    result = check_table(
        EVENTS,
        [RawFile("api", table)],
        references=references,
        now=VALIDATED_AT,
        future_skew_minutes=SKEW_MINUTES,
    )
    return result.reasons


@given(event=event_dicts)
@example(
    event={
        "event_id": "e",
        "user_id": "u",
        "product_id": "p",
        "event_type": "view",
        "session_id": "s",
        "device": "app",
        "page": "home",
        "position": 1,
    }
)
@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_event_the_api_accepts_passes_the_contract(event: dict[str, Any]) -> None:
    row = api_accepts(event)
    if row is not None:
        assert contract_reasons(row) == {}, (event, row)


@pytest.mark.parametrize(
    "change",
    [
        {"session_id": None},
        {"device": None},
        {"page": None},
        {"position": 0},
        {"position": True},
        {"position": 2**31},
        {"event_type": "wishlist"},
        {"page": "checkout"},
        {"ts": "1999-12-31T23:59:59Z"},
        {"ts": "2026-06-03T12:06:00Z"},  # after receipt + skew
        {"ts": "9999-12-31T23:59:59-14:00"},  # once a 500 (OverflowError)
        {"ts": "2026-06-03T12:00:00"},  # no offset
        {"event_id": ""},
    ],
)
def test_what_the_contract_rejects_the_api_rejects(change: dict[str, Any]) -> None:
    event = {"event_id": "e", "user_id": "u", "product_id": "p", "event_type": "view"}
    event |= {"session_id": "s", "device": "app", "page": "home", "position": 1}
    assert api_accepts(event) is not None
    event |= change
    assert api_accepts({k: v for k, v in event.items() if v is not None}) is None


def test_the_event_model_is_derived_from_the_contract() -> None:
    rules = column_rules(EVENTS)
    fields = EventIn.model_fields
    assert list(fields) == list(rules)
    required = {name for name, field in fields.items() if field.is_required()}
    assert required == {name for name, rule in rules.items() if rule.required} - {"ts"}  # ts: receipt time
    schema = EventIn.model_json_schema()["properties"]
    assert schema["event_type"]["enum"] == list(EVENT_TYPES)
    assert schema["page"]["enum"] == list(PAGES)
    assert schema["device"]["enum"] == list(DEVICES)
    position = schema["position"]["anyOf"][0]
    assert (position["minimum"], position["maximum"]) == (1, 2**31 - 1)
