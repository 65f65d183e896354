"""Bounded requests and the documented error envelope, on an app over an empty home.

A body over the limit is refused with 413 (declared or streamed), a body that stops arriving
with 408, and a validation failure echoes at most 20 short errors whatever was sent. The
OpenAPI document announces what the API answers: every 422 and body error is the envelope,
the id pattern is the one the API checks, a blank query is a 422 of its schema."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError

from vitrina.config import get_settings
from vitrina.serving.api_models import ID_PATTERN, QUERY_PATTERN, Id
from vitrina.serving.app import create_app
from vitrina.serving.errors import MAX_ERROR_CHARS, MAX_ERRORS

pytestmark = pytest.mark.unit

KEY = "test-admin-key"
LIMIT = 512 * 1024
EVENT = {
    "event_id": "e-1",
    "user_id": "u-1",
    "product_id": "p-1",
    "event_type": "view",
    "session_id": "s-1",
    "device": "app",
    "page": "home",
}
ENVELOPE = {"detail", "errors", "request_id", "model_version", "arm"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("limits") / "home"
    settings = get_settings(home=home, admin_api_key=KEY, max_body_bytes=LIMIT, body_timeout_seconds=0.5)
    with TestClient(create_app(settings)) as client:
        yield client


def _is_envelope(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    body: dict[str, Any] = response.json()
    assert set(body) >= ENVELOPE
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(api: TestClient) -> None:
    response = api.post(
        "/events", content=b"{" + b" " * LIMIT + b"}", headers={"content-type": "application/json"}
    )
    body = _is_envelope(response, 413)
    assert f"{LIMIT:,}" in body["detail"]
    assert response.headers["connection"] == "close"


def test_a_streamed_body_is_counted_as_it_arrives(api: TestClient) -> None:
    chunks = (b" " * 8192 for _ in range(LIMIT // 8192 + 2))  # no Content-Length: chunked
    response = api.post("/events", content=chunks, headers={"content-type": "application/json"})
    _is_envelope(response, 413)
    assert response.headers["connection"] == "close"


def test_a_body_at_the_limit_is_read(api: TestClient) -> None:
    batch = json.dumps({"events": [EVENT]}).encode()
    padded = batch[:-1] + b" " * (LIMIT - len(batch)) + b"}"
    assert len(padded) == LIMIT
    response = api.post("/events", content=padded, headers={"content-type": "application/json"})
    assert response.status_code == 202, response.text[:300]


def _call(app: Any, method: str, path: str, chunks: list[bytes], stall: bool = False) -> list[dict[str, Any]]:
    """Drive the ASGI app directly: ``chunks`` arrive, then (``stall``) nothing ever again."""
    incoming = [
        {"type": "http.request", "body": c, "more_body": stall or i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=10))
    return [m for m in sent if m["type"] == "http.response.start"] + [
        m for m in sent if m["type"] == "http.response.body"
    ]


def test_a_body_that_stops_arriving_gets_408() -> None:
    settings = get_settings(home=Path("/nonexistent-home"), body_timeout_seconds=0.3)
    messages = _call(create_app(settings), "POST", "/events", [b'{"events": ['], stall=True)
    start, body = messages[0], json.loads(messages[1]["body"])
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    assert "0.3 s" in body["detail"]
    assert body["request_id"]


def test_validation_errors_are_capped_and_short(api: TestClient) -> None:
    huge_key = "k" * 100_000
    events = [{**EVENT, "event_id": f"e{i}", "position": 0} for i in range(300)]
    events[0] = {**EVENT, huge_key: 1, **{f"x{i}": i for i in range(5000)}}
    response = api.post("/events", json={"events": events})
    body = _is_envelope(response, 422)
    assert len(body["errors"]) == MAX_ERRORS
    assert body["error_count"] == 300  # one per event: unknown keys are one error, not 5,001
    assert "and 280 more errors" in body["detail"]
    for error in body["errors"]:
        assert set(error) == {"loc", "msg", "type"}
        assert all(len(str(part)) <= MAX_ERROR_CHARS for part in error["loc"])
        assert len(error["msg"]) <= MAX_ERROR_CHARS
    assert "unknown keys" in body["errors"][0]["msg"]
    assert "and 4996 more" in body["errors"][0]["msg"]
    assert len(response.content) < 16_000


def test_an_oversized_batch_is_one_error(api: TestClient) -> None:
    response = api.post("/events", json={"events": [{}] * 1001})
    body = _is_envelope(response, 422)
    assert body["error_count"] == 1
    assert "at most 1000 events" in body["detail"]


def test_a_timestamp_at_the_year_limit_is_a_422_not_a_500(api: TestClient) -> None:
    response = api.post("/events", json={"events": [{**EVENT, "ts": "9999-12-31T23:59:59-14:00"}]})
    body = _is_envelope(response, 422)
    assert body["errors"][0]["loc"] == ["body", "events", 0, "ts"]
    assert "range" in body["detail"]


@pytest.mark.parametrize("payload", [b'{"recs": {"name": "\x80"}}', b"[" * 50_000])
def test_an_unreadable_body_is_a_documented_422(api: TestClient, payload: bytes) -> None:
    """Bytes that are not UTF-8, or JSON nested beyond the parser: once an undocumented 400."""
    headers = {"X-API-Key": KEY, "content-type": "application/json"}
    response = api.put("/admin/experiment", content=payload, headers=headers)
    body = _is_envelope(response, 422)
    assert body["errors"][0]["type"] == "body_unreadable"
    assert "422" in api.get("/openapi.json").json()["paths"]["/admin/experiment"]["put"]["responses"]


def test_every_documented_422_and_body_error_is_the_envelope(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    assert "HTTPValidationError" not in json.dumps(document)
    seen = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = ["422"] + (["413", "408"] if "requestBody" in operation else [])
            for code in codes:
                if code == "422" and code not in operation["responses"]:
                    continue
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, code)
                seen += 1
    assert seen >= 12
    for path in ("/admin/promote/{model}", "/admin/rollback/{model}"):
        assert "422" in document["paths"][path]["post"]["responses"]


BLANKS = [
    "\x85",
    "\xa0",
    "\u1680",
    "\u2000",
    "\u2028",
    "\u202f",
    "\u3000",
    "\ufeff",
    "\x1c",
    "\x7f",
    " ",
    "\t",
]


@pytest.mark.parametrize("char", [*BLANKS, "é", "ñ", "-", "字", "\U0001f600"])
def test_the_published_id_pattern_is_the_check(api: TestClient, char: str) -> None:
    """U+0085 and friends: the published pattern (read with Python's re, as schemathesis does)
    and the API agree on every character."""
    document = api.get("/openapi.json").json()
    parameters = document["paths"]["/recs/{user_id}"]["get"]["parameters"]
    published = next(p for p in parameters if p["name"] == "user_id")["schema"]["pattern"]
    assert published == ID_PATTERN
    assert "\\s" not in published  # its meaning differs between regex engines
    value = f"u{char}1"
    by_pattern = re.fullmatch(published, value) is not None
    try:
        TypeAdapter(Id).validate_python(value)
        by_api = True
    except ValidationError:
        by_api = False
    assert by_pattern == by_api == (char not in BLANKS)
    status = api.get(f"/recs/{quote(value)}").status_code
    assert (status == 200) == by_api


@pytest.mark.parametrize("q", [" ", "\t \n", "\x85", "\u3000", "a\x00b", "\x01"])
def test_a_blank_query_is_a_422_the_schema_announces(api: TestClient, q: str) -> None:
    response = api.get("/search", params={"q": q})
    body = _is_envelope(response, 422)
    assert body["detail"] == "query q: must contain something other than blanks, and no NUL character"
    assert re.fullmatch(QUERY_PATTERN, q) is None
    operation = api.get("/openapi.json").json()["paths"]["/search"]["get"]
    q_schema = next(p for p in operation["parameters"] if p["name"] == "q")["schema"]
    assert q_schema["pattern"] == QUERY_PATTERN
    assert "400" not in operation["responses"]
