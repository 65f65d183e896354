"""A fast lane for ``GET /recs/{user_id}`` (and the product pages' ``GET /products/{id}/similar``
and ``/bought-together``, the same kind of store read): a plain ASGI layer that answers the
valid requests of the hot path itself and hands every other request to FastAPI, unchanged.

FastAPI's per-request machinery (the middleware stack, the router's scan, a ``Request``, the
dependency solver, the parameter validation) costs more CPU than the store read behind
``/recs`` (``benchmarks/results/load.md``), and under 16 connections on two cores that CPU is
queueing time. The lane validates the path and ``k`` with pydantic, against the same
constraints as the route, and declines anything it is not sure of: a request that fails
validation, repeats ``k`` or sits under a root path goes on to FastAPI, which answers it
exactly as before (422 with its message, 404, 405). The route itself stays declared: it
documents the API (OpenAPI) and answers what the lane declines.

It sits inside :class:`~vitrina.serving.middleware.RequestContextMiddleware`, so request ids,
the envelope headers, the metrics (under the route's template) and the access log are the
same on both paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import Field, StringConstraints, TypeAdapter, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from vitrina.adapters.stores.base import SIMILAR, TOGETHER
from vitrina.serving.api_models import DEFAULT_K, ID_PATTERN, MAX_K
from vitrina.serving.experiment_config import CHAMPION
from vitrina.serving.recs.answer import FOR_YOU, LISTS, ROUTE
from vitrina.serving.recs.products import ROUTES as PRODUCT_ROUTES

PREFIX = "/recs/"
PRODUCTS = "/products/"
PRODUCT_TAILS = {"similar": SIMILAR, "bought-together": TOGETHER}
_USER_ID: TypeAdapter[str] = TypeAdapter(Annotated[str, StringConstraints(pattern=ID_PATTERN)])
_K: TypeAdapter[int] = TypeAdapter(Annotated[int, Field(ge=1, le=MAX_K)])
_HEADERS = [(b"content-type", b"application/json")]


def parse_recs_request(scope: Scope) -> tuple[str, int, str] | None:
    """``(user_id, k, list)`` of a valid ``GET /recs/{user_id}[?k=…][&list=…]``, else None
    (FastAPI decides)."""
    if scope["method"] != "GET" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    raw_user = path[len(PREFIX) :]
    if not raw_user or "/" in raw_user:
        return None
    params = parse_qsl(scope["query_string"].decode("latin-1"), True)
    ks = [value for name, value in params if name == "k"]
    lists = [value for name, value in params if name == "list"]
    if len(ks) > 1 or len(lists) > 1 or (lists and lists[0] not in LISTS):
        return None
    try:
        user_id = _USER_ID.validate_python(raw_user)
        k = _K.validate_python(ks[0]) if ks else DEFAULT_K
    except ValidationError:
        return None
    return user_id, k, lists[0] if lists else FOR_YOU


def parse_product_request(scope: Scope) -> tuple[str, str, int] | None:
    """``(kind, product_id, k)`` of a valid ``GET /products/{id}/similar|bought-together[?k=…]``,
    else None (FastAPI decides)."""
    if scope["method"] != "GET" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith(PRODUCTS):
        return None
    raw_product, _, tail = path[len(PRODUCTS) :].partition("/")
    kind = PRODUCT_TAILS.get(tail)
    if kind is None or not raw_product:
        return None
    ks = [value for name, value in parse_qsl(scope["query_string"].decode("latin-1"), True) if name == "k"]
    if len(ks) > 1:
        return None
    try:
        product_id = _USER_ID.validate_python(raw_product)
        k = _K.validate_python(ks[0]) if ks else DEFAULT_K
    except ValidationError:
        return None
    return kind, product_id, k


class RecsLane:
    """The ASGI layer; ``serving`` gives the loaded state (None before the lifespan loaded it)
    and ``router`` holds the ``/recs`` route, which names the lane's requests in the metrics;
    ``products``, when given, holds the product routes, whose requests the lane answers too."""

    def __init__(
        self, app: ASGIApp, serving: Callable[[], Any], router: APIRouter, products: APIRouter | None = None
    ):
        self.app = app
        self.serving = serving
        self.route = next(r for r in router.routes if isinstance(r, APIRoute) and r.path == ROUTE)
        self.product_routes = (
            {
                kind: next(r for r in products.routes if isinstance(r, APIRoute) and r.path == path)
                for kind, path in PRODUCT_ROUTES.items()
            }
            if products is not None
            else {}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http = scope["type"] == "http"
        request = parse_recs_request(scope) if http else None
        product = parse_product_request(scope) if http and request is None and self.product_routes else None
        state = self.serving() if request is not None or product is not None else None
        request_id = scope.get("state", {}).get("request_id")
        if state is None or request_id is None:
            await self.app(scope, receive, send)
            return
        if product is not None:
            kind, product_id, k = product
            scope["route"] = self.product_routes[kind]
            found = await state.products.answer(kind, product_id, k, request_id)
            await _respond(scope, send, found.model_version, CHAMPION, found.to_json())
            return
        assert request is not None
        user_id, k, list_name = request
        scope["route"] = self.route
        answer = await state.recs.recommend(
            user_id=user_id, k=k, request_id=request_id, experiment=state.experiment.recs, list_name=list_name
        )
        await _respond(scope, send, answer.model_version, answer.arm, answer.to_json())


async def _respond(scope: Scope, send: Send, model_version: str, arm: str, body: bytes) -> None:
    scope["state"]["model_version"] = model_version
    scope["state"]["arm"] = arm
    headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
