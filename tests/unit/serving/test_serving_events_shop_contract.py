"""``POST /events`` follows the shop file: its vocabularies (open or closed), value maps, earliest
date and event types. What validation would quarantine under the shop's contract the API refuses
with a 422 and a message; what validation would accept the API accepts (mapped as validation
maps it)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from vitrina.adapters.contracts.coerce import RawFile
from vitrina.adapters.contracts.integrity import Reference
from vitrina.adapters.events.base import EVENT_FIELDS
from vitrina.config import get_settings
from vitrina.core.tables import EVENTS
from vitrina.pipelines.validate import check_table
from vitrina.serving.app import create_app
from vitrina.serving.event_models import EventsIn, events_model
from vitrina.serving.routes.events import accept
from vitrina.shop_config import ContractsConfig, load_shop_config

pytestmark = pytest.mark.unit

SHOP_FILE = """\
name: gift-shop
currency: GBP
contracts:
  vocabularies:
    events.device: open
  value_maps:
    events.page: {basket: cart, product: pdp}
    events.event_type: {order: purchase}
  earliest_date: 1995-01-01
  event_types: [purchase]
"""
RECEIVED = dt.datetime(2026, 6, 3, 12, 0, tzinfo=dt.UTC)
SKEW_MINUTES = 5.0
EVENT = {
    "event_id": "e",
    "user_id": "u",
    "product_id": "p",
    "event_type": "purchase",
    "session_id": "s",
    "device": "Desktop Web",
    "page": "pdp",
}
CASES: list[tuple[dict[str, Any], str | None]] = [
    ({}, None),
    ({"device": "smart fridge"}, None),  # open: any non-empty text
    ({"device": ""}, "device"),
    ({"page": "basket"}, None),  # mapped to cart
    ({"page": "checkout"}, "page"),  # closed, not mapped
    ({"event_type": "order"}, None),  # mapped to purchase
    ({"event_type": "view"}, "not logged by this shop"),
    ({"event_type": "like"}, "event_type"),
    ({"ts": "1997-03-01T12:00:00Z"}, None),  # after the shop's earliest date
    ({"ts": "1994-12-31T23:59:59Z"}, "before 1995-01-01"),
]


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> ContractsConfig:
    path = tmp_path_factory.mktemp("shop") / "vitrina.yaml"
    path.write_text(SHOP_FILE, encoding="utf-8")
    return load_shop_config(path).contracts


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("shop-api") / "home"
    home.mkdir()
    (home / "vitrina.yaml").write_text(SHOP_FILE, encoding="utf-8")
    with TestClient(create_app(get_settings(home=home))) as client:
        yield client


def api_accepts(event: dict[str, Any], contract: ContractsConfig) -> dict[str, Any] | None:
    """The record the shop's API would buffer, or None when it answers 422."""
    try:
        body = events_model(contract).model_validate_json(json.dumps({"events": [event]}))
        [record] = accept(body, RECEIVED, SKEW_MINUTES)
    except (ValidationError, RequestValidationError):
        return None
    return {name: getattr(record, name) for name in EVENT_FIELDS}


def contract_reasons(row: dict[str, Any], contract: ContractsConfig) -> dict[str, int]:
    """The shop contract's verdict on one raw events row (references all known)."""
    table = pa.Table.from_pylist([row], schema=EVENTS.schema)
    ids = {"catalog": row["product_id"], "users": row["user_id"]}
    references = {
        name: Reference(valid=pa.array([i], pa.string()), known=pa.array([i], pa.string()))
        for name, i in ids.items()
    }
    result = check_table(
        EVENTS,
        [RawFile("api", table)],
        references=references,
        now=RECEIVED,
        future_skew_minutes=SKEW_MINUTES,
        contract=contract,
    )
    return result.reasons


def as_raw_row(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a shop would write it to raw/events itself (no API in between)."""
    row = {name: event.get(name) for name in EVENT_FIELDS}
    ts = event.get("ts")
    row["ts"] = dt.datetime.fromisoformat(ts) if ts else RECEIVED
    return row


@pytest.mark.parametrize(("change", "refused"), CASES, ids=[json.dumps(c) for c, _ in CASES])
def test_the_api_and_validation_give_one_verdict(
    contract: ContractsConfig, change: dict[str, Any], refused: str | None
) -> None:
    event = {**EVENT, **change}
    record = api_accepts(event, contract)
    validation = contract_reasons(as_raw_row(event), contract)
    assert (record is None) == (refused is not None) == bool(validation), (record, validation)
    if record is not None:
        assert contract_reasons(record, contract) == {}  # what the API buffers validates as is


def test_the_api_stores_the_value_a_spelling_stands_for(contract: ContractsConfig) -> None:
    record = api_accepts({**EVENT, "page": "basket", "event_type": "order"}, contract)
    assert record is not None
    assert (record["page"], record["event_type"]) == ("cart", "purchase")


@pytest.mark.parametrize(("change", "refused"), CASES, ids=[json.dumps(c) for c, _ in CASES])
def test_post_events_follows_the_shop_file(
    api: TestClient, change: dict[str, Any], refused: str | None
) -> None:
    event = {**EVENT, **change, "event_id": f"e-{CASES.index((change, refused))}"}
    response = api.post("/events", json={"events": [event]})
    if refused is None:
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 1
    else:
        assert response.status_code == 422, response.text
        assert refused in response.json()["detail"]


def test_an_orders_only_shop_says_why_a_view_is_refused(api: TestClient) -> None:
    response = api.post("/events", json={"events": [{**EVENT, "event_id": "v1", "event_type": "view"}]})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["msg"] == "'view' is not logged by this shop (contracts.event_types)"
    assert error["loc"] == ["body", "events", 0, "event_type"]


def test_the_published_schema_is_the_shops(api: TestClient) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    properties = schemas["EventIn"]["properties"]
    assert properties["event_type"]["enum"] == ["purchase", "order"]
    assert properties["page"]["enum"] == ["home", "search", "pdp", "recs", "cart", "basket", "product"]
    assert properties["device"] == {"minLength": 1, "title": "Device", "type": "string"}


def test_without_a_shop_file_the_model_is_the_simulators() -> None:
    assert events_model() is EventsIn
    assert events_model(ContractsConfig()) is EventsIn


SHOP_FIELDS = {
    "event_type": st.sampled_from(
        ["view", "click", "add_to_cart", "purchase", "order", "like", "", "Purchase"]
    ),
    "device": st.one_of(st.sampled_from(["", "app", "tv"]), st.text(min_size=1, max_size=8)),
    "page": st.sampled_from(["home", "pdp", "basket", "product", "checkout", "", "Basket"]),
    "ts": st.sampled_from(
        [
            None,
            "1994-12-31T23:59:59.999999Z",
            "1995-01-01T00:00:00Z",
            "1995-01-01T00:30:00+01:00",
            "2026-06-03T12:05:00Z",
            "2026-06-03T12:05:01Z",
        ]
    ),
}


@given(choice=st.fixed_dictionaries(SHOP_FIELDS))
@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_on_the_shops_own_columns_the_api_accepts_exactly_what_validation_accepts(
    contract: ContractsConfig, choice: dict[str, Any]
) -> None:
    event = {**EVENT, **{k: v for k, v in choice.items() if v is not None}}
    record = api_accepts(event, contract)
    validation = contract_reasons(as_raw_row(event), contract)
    assert (record is not None) == (validation == {}), (event, record, validation)
    if record is not None:
        assert contract_reasons(record, contract) == {}
