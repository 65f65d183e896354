"""A fast lane for ``GET /recs/{user_id}``: a plain ASGI layer that answers the valid requests
of the hot path itself and hands every other request to FastAPI, unchanged.

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

from vitrina.serving.api_models import DEFAULT_K, ID_PATTERN, MAX_K
from vitrina.serving.recs.answer import FOR_YOU, LISTS, ROUTE

PREFIX = "/recs/"
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


class RecsLane:
    """The ASGI layer; ``serving`` gives the loaded state (None before the lifespan loaded it)
    and ``router`` holds the ``/recs`` route, which names the lane's requests in the metrics."""

    def __init__(self, app: ASGIApp, serving: Callable[[], Any], router: APIRouter):
        self.app = app
        self.serving = serving
        self.route = next(r for r in router.routes if isinstance(r, APIRoute) and r.path == ROUTE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = parse_recs_request(scope) if scope["type"] == "http" else None
        state = self.serving() if request is not None else None
        request_id = scope.get("state", {}).get("request_id")
        if request is None or state is None or request_id is None:
            await self.app(scope, receive, send)
            return
        user_id, k, list_name = request
        scope["route"] = self.route
        answer = await state.recs.recommend(
            user_id=user_id, k=k, request_id=request_id, experiment=state.experiment.recs, list_name=list_name
        )
        scope["state"]["model_version"] = answer.model_version
        scope["state"]["arm"] = answer.arm
        body = answer.to_json()
        headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
