"""The /recs fast lane: which requests it answers, and that it hands every other one on."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import APIRouter

from vitrina.adapters.stores import Recommendation
from vitrina.serving.recs.answer import ROUTE, RecsAnswer
from vitrina.serving.recs.fast_path import RecsLane, parse_product_request, parse_recs_request

pytestmark = pytest.mark.unit


def _scope(path: str, query: str = "", method: str = "GET", **extra: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": query.encode(),
        "headers": [],
        "state": {"request_id": "req-1"},
        **extra,
    }


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/recs/u1", "", ("u1", 20, "for_you")),
        ("/recs/u1", "k=5", ("u1", 5, "for_you")),
        ("/recs/u1", "k=100&other=x", ("u1", 100, "for_you")),
        ("/recs/u1", "list=buy_again&k=3", ("u1", 3, "buy_again")),
        ("/recs/u1", "list=for_you", ("u1", 20, "for_you")),
        ("/recs/usuário-ñ", "k=1", ("usuário-ñ", 1, "for_you")),
        ("/recs/" + "a" * 128, "", ("a" * 128, 20, "for_you")),
    ],
)
def test_valid_requests_are_parsed(path: str, query: str, expected: tuple[str, int, str]) -> None:
    assert parse_recs_request(_scope(path, query)) == expected


@pytest.mark.parametrize(
    ("path", "query", "method", "root_path"),
    [
        ("/recs/u1", "k=0", "GET", ""),  # out of bounds: FastAPI's 422 says why
        ("/recs/u1", "k=101", "GET", ""),
        ("/recs/u1", "k=abc", "GET", ""),
        ("/recs/u1", "k=", "GET", ""),
        ("/recs/u1", "k=5&k=6", "GET", ""),  # repeated: left to FastAPI's rule
        ("/recs/u1", "list=wishlist", "GET", ""),  # not a list: FastAPI's 422
        ("/recs/u1", "list=buy_again&list=for_you", "GET", ""),
        ("/recs/a b", "", "GET", ""),  # whitespace in the id
        ("/recs/" + "a" * 129, "", "GET", ""),
        ("/recs/", "", "GET", ""),
        ("/recs/u1/", "", "GET", ""),  # not the route (FastAPI redirects or 404s)
        ("/recs/u1/x", "", "GET", ""),
        ("/recsu1", "", "GET", ""),
        ("/search", "q=x", "GET", ""),
        ("/recs/u1", "", "POST", ""),  # 405 is FastAPI's
        ("/recs/u1", "", "HEAD", ""),
        ("/recs/u1", "", "GET", "/api"),  # under a root path
    ],
)
def test_anything_else_is_declined(path: str, query: str, method: str, root_path: str) -> None:
    assert parse_recs_request(_scope(path, query, method, root_path=root_path)) is None


@dataclass
class _Recs:
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def recommend(self, **kwargs: Any) -> RecsAnswer:
        self.calls.append(kwargs)
        items = [Recommendation(f"p{i}", 1.0 / (i + 1), "als") for i in range(kwargs["k"])]
        return RecsAnswer(
            request_id=kwargs["request_id"],
            model_version="recs-7",
            arm="challenger",
            experiment="exp",
            user_id=kwargs["user_id"],
            items=items,
            fallback=False,
        )


@dataclass
class _Downstream:
    scopes: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(scope)


def _router() -> APIRouter:
    router = APIRouter()

    @router.get(ROUTE)
    async def recs(user_id: str) -> None:  # pragma: no cover - never called here
        raise AssertionError

    return router


def _run(lane: RecsLane, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(lane(scope, receive, send))
    return sent


def test_the_lane_answers_a_valid_request_itself() -> None:
    recs, downstream = _Recs(), _Downstream()
    state = SimpleNamespace(recs=recs, experiment=SimpleNamespace(recs="the-recs-experiment"))
    lane = RecsLane(downstream, serving=lambda: state, router=_router())
    scope = _scope("/recs/u9", "k=3")
    sent = _run(lane, scope)
    assert downstream.scopes == []
    assert recs.calls == [
        {
            "user_id": "u9",
            "k": 3,
            "request_id": "req-1",
            "experiment": "the-recs-experiment",
            "list_name": "for_you",
        }
    ]
    start, body = sent
    assert start["status"] == 200
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(body["body"])
    assert body["body"].startswith(b'{"request_id":"req-1","model_version":"recs-7","arm":"challenger"')
    assert scope["route"].path == ROUTE  # the metrics and logs name the route
    assert scope["state"]["model_version"] == "recs-7"
    assert scope["state"]["arm"] == "challenger"


@pytest.mark.parametrize(
    ("scope", "loaded"),
    [
        (_scope("/recs/u9", "k=0"), True),
        (_scope("/health"), True),
        ({"type": "lifespan"}, True),
        (_scope("/recs/u9"), False),  # nothing loaded yet: FastAPI's route says so
        ({**_scope("/recs/u9"), "state": {}}, True),  # no request context around the lane
    ],
)
def test_the_lane_hands_on_what_it_does_not_answer(scope: dict[str, Any], loaded: bool) -> None:
    recs, downstream = _Recs(), _Downstream()
    state = SimpleNamespace(recs=recs, experiment=SimpleNamespace(recs=None))
    lane = RecsLane(downstream, serving=lambda: state if loaded else None, router=_router())
    assert _run(lane, scope) == []
    assert downstream.scopes == [scope]
    assert recs.calls == []


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/products/p1/similar", "", ("similar", "p1", 20)),
        ("/products/p-ñ/bought-together", "k=3", ("together", "p-ñ", 3)),
        ("/products/p1/similar", "k=0", None),  # FastAPI's 422
        ("/products/p1/similar", "k=2&k=3", None),
        ("/products/p1/other", "", None),
        ("/products//similar", "", None),
        ("/products/p1/similar/x", "", None),
        ("/products/a b/similar", "", None),
    ],
)
def test_product_requests_are_parsed_or_declined(
    path: str, query: str, expected: tuple[str, str, int] | None
) -> None:
    assert parse_product_request(_scope(path, query)) == expected
