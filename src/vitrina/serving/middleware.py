"""Per-request plumbing as plain ASGI (no ``BaseHTTPMiddleware`` overhead on the hot path).

For every HTTP request: take ``X-Request-ID`` (echoed when it is a sane token, else a new
one from :class:`RequestIds`), expose it to logs, time the request, add the
``X-Request-ID`` / ``X-Model-Version`` / ``X-Experiment-Arm`` headers (routes set the latter
two in ``request.state``; the served versions otherwise), count it in the metrics by route
*template*, and log one JSON line. An unhandled exception becomes a JSON 500 carrying the
request id, counted in ``vitrina_errors_total``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitrina.adapters.prometheus.instruments import ServiceMetrics
from vitrina.serving.request_logs import request_id_var

log = logging.getLogger("vitrina.serving.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
NO_ARM = "none"


class RequestIds:
    """New request ids: 32 hex characters, a random prefix drawn once per instance (64 bits
    from ``os.urandom``) and a counter. As unique as a uuid4 per process, at a fraction of its
    cost (``uuid4`` reads the OS's randomness and builds a UUID object on every request).
    Each worker process builds its own app, so each draws its own prefix."""

    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(1)

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


def request_id_from(headers: list[tuple[bytes, bytes]], ids: RequestIds) -> str:
    """The client's ``X-Request-ID`` when it is a sane token, else a new id."""
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_ID.match(text):
                return text
    return ids.new()


class RequestContextMiddleware:
    """See the module docstring. ``versions`` gives the default ``X-Model-Version``."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], ServiceMetrics], versions: Callable[[], str]):
        self.app = app
        self.metrics = metrics
        self.versions = versions
        self.ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(scope["headers"], self.ids)
        token = request_id_var.set(request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                model_version = str(state.get("model_version") or self.versions())
                headers += [
                    (b"x-request-id", request_id.encode()),
                    (b"x-model-version", model_version.encode("latin-1", "replace")),
                    (b"x-experiment-arm", str(state.get("arm", NO_ARM)).encode()),
                ]
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as error:
            route = _route(scope)
            self.metrics().errors.labels(route=route, kind=type(error).__name__).inc()
            log.exception("unhandled error", extra={"route": route})
            if not response_started:
                body = json.dumps(
                    {
                        "detail": "internal error; quote the request id when reporting it",
                        "request_id": request_id,
                        "model_version": self.versions(),
                        "arm": NO_ARM,
                    }
                ).encode()
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            seconds = time.perf_counter() - started
            route = _route(scope)
            self.metrics().observe_request(
                route=route, method=scope["method"], status=status, seconds=seconds
            )
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status,
                        "ms": round(seconds * 1000, 3),
                        "arm": state.get("arm", NO_ARM),
                    },
                )
            request_id_var.reset(token)


def _route(scope: Scope) -> str:
    """The matched route's template (bounded label values); ``unmatched`` for 404s."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
