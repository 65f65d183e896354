"""Headers that every API answer carries, as plain ASGI (the ``/recs`` hot path included).

``X-Content-Type-Options: nosniff`` (a JSON body is never taken for HTML or script),
``X-Frame-Options: DENY`` (no page of the API inside another site's frame) and
``Referrer-Policy: no-referrer``. A header the route set itself is kept. The console adds a
Content-Security-Policy of its own (:mod:`vitrina.serving.console.guard`); the API's JSON needs none,
and ``/docs`` loads Swagger UI from a CDN, which a policy here would block.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeaders:
    """Adds :data:`HEADERS` to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in HEADERS if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
