"""Bounds on what one request may cost the server, as a plain ASGI layer.

- **Body size.** A declared ``Content-Length`` above ``max_body_bytes`` is answered 413 at
  once, before any route runs, and the connection is closed (the rest of the body is never
  read). A chunked body is counted as it streams; the read that passes the limit fails with
  413, so at most ``max_body_bytes`` plus one chunk is ever held. (FastAPI's own
  ``max_body_size`` answers a declared length with plain text, outside the envelope.)
- **Body read time.** The whole body must arrive within ``body_timeout_seconds`` of the
  request's start; a client that stops half-way gets 408 and the connection is closed,
  instead of holding a task and its buffers open. Slow *headers* are uvicorn's business,
  before any ASGI code runs: :mod:`vitrina.serving.protocol`.

Both answers are the error envelope, with the request id (this layer sits inside
:class:`~vitrina.serving.middleware.RequestContextMiddleware`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitrina.serving.errors import envelope_bytes
from vitrina.serving.middleware import NO_ARM

CLOSE = {"Connection": "close"}


class BodyTimeoutError(HTTPException):
    """Raised from ``receive`` inside the app, so the app's handler answers it (408)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body did not arrive within {seconds:g} s", headers=CLOSE)


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` inside the app, so the app's handler answers it (413)."""

    def __init__(self, limit: int) -> None:
        detail = f"the request body is larger than {limit:,} bytes (VITRINA_MAX_BODY_BYTES)"
        super().__init__(413, detail, headers=CLOSE)


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestLimits:
    """See the module docstring; ``versions`` gives the envelope's ``model_version``."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, body_timeout_seconds: float, versions: Callable[[], str]
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout_seconds
        self.versions = versions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_body_bytes:
            await self._too_large(scope, send, length)
            return
        deadline = time.monotonic() + self.body_timeout
        body_done = False
        size = 0

        async def bounded_receive() -> Message:
            nonlocal body_done, size
            if body_done:  # only http.disconnect is left: it may wait as long as the response
                return await receive()
            try:
                with anyio.fail_after(max(deadline - time.monotonic(), 0)):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeoutError(self.body_timeout) from None
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.max_body_bytes:
                    raise BodyTooLargeError(self.max_body_bytes)
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, bounded_receive, send)

    async def _too_large(self, scope: Scope, send: Send, length: int) -> None:
        body = envelope_bytes(
            f"the request body is {length:,} bytes; the limit is {self.max_body_bytes:,} "
            "(VITRINA_MAX_BODY_BYTES)",
            request_id=scope.get("state", {}).get("request_id", ""),
            model_version=self.versions(),
            arm=NO_ARM,
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
