"""What every console route goes through before and after its handler: the token check
(:mod:`.auth`) and the security headers of its answer.

The pages load their own stylesheet and script only (no inline script or style, nothing from
another origin), so the Content-Security-Policy can be strict. It is set on every console
answer, the 401 page and the sign-in redirect included; a route that needs another policy
(the Evidently report) sets its own and keeps it. ``Referrer-Policy: no-referrer`` keeps
the URL of a page (a user id, a token on the first visit) out of any request it makes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from vitrina.serving.console.auth import ConsoleAuth

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def protect(response: Response) -> Response:
    """``response`` with the console's security headers (those it set itself are kept)."""
    for name, value in HEADERS.items():
        if name not in response.headers:
            response.headers[name] = value
    return response


class ConsoleRoute(APIRoute):
    """An API route that answers only holders of the console's token (the app's
    ``state.console_auth``), before its parameters are even validated."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            auth: ConsoleAuth = request.app.state.console_auth
            refused = auth.check(request)
            return protect(refused if refused is not None else await handler(request))

        return guarded
