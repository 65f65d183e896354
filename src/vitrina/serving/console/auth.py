"""Who may open the console: whoever holds its token, the way Jupyter does it.

The token is ``VITRINA_CONSOLE_TOKEN``, or, when that is unset, a random one that
``vitrina serve`` draws at start-up, exports to its worker processes (they inherit the
environment, so every worker agrees) and prints with the console's link. A token lives as
long as the server: a restart draws a new one, and nothing is written to disk.

A request gets in with

- ``?token=…`` (the printed link): the answer sets a cookie and redirects to the same URL
  without the token, so it never stays in the address bar, the history or a ``Referer``;
- ``Authorization: token …`` (scripts);
- the cookie of an earlier visit. It holds an HMAC of the token, not the token: a stolen
  cookie cannot be turned back into the link, and it stops working when the token changes.

Anything else gets a 401 HTML page saying how to get in, and no data. Comparisons are
constant-time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vitrina.config import Settings

log = logging.getLogger(__name__)

COOKIE = "vitrina_console"
TOKEN_PARAM = "token"
TOKEN_ENV = "VITRINA_CONSOLE_TOKEN"
_COOKIE_CONTEXT = b"vitrina console cookie v1"
_UNAUTHORIZED = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vitrina console · sign in</title></head>
<body><main id="main"><h1>vitrina console</h1>
<p>The console needs its token. Open the link <code>vitrina serve</code> printed
(<code>console: http://…/console/?token=…</code>), or the console's URL with
<code>?token=</code> and the value of <code>VITRINA_CONSOLE_TOKEN</code>.</p>
<p lang="es">La consola necesita su token: abre el enlace que imprimió <code>vitrina serve</code>,
o añade <code>?token=</code> con el valor de <code>VITRINA_CONSOLE_TOKEN</code>.</p>
</main></body></html>
"""
_CONTINUE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={url}">
<title>vitrina console</title></head>
<body><p><a href="{url}">Continue to the console</a></p></body></html>
"""


def same_secret(given: str, expected: str) -> bool:
    """Constant-time equality of two secrets (any text; compared as UTF-8)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def new_token() -> str:
    """A fresh console token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ConsoleAuth:
    """The console's token and the checks of :meth:`check`."""

    token: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleAuth:
        """The configured token; without one (an app built outside ``vitrina serve``), a random
        one that only this process knows, logged so the one who started it can get in."""
        configured = settings.console_token.get_secret_value() if settings.console_token else ""
        if configured:
            return cls(configured)
        token = new_token()
        log.warning("no %s: the console's token for this process is %s", TOKEN_ENV, token)
        return cls(token)

    @property
    def cookie_value(self) -> str:
        """What the cookie holds: an HMAC of a fixed text keyed by the token."""
        return hmac.new(self.token.encode(), _COOKIE_CONTEXT, hashlib.sha256).hexdigest()

    def check(self, request: Request) -> Response | None:
        """None when ``request`` may see the console; otherwise the answer to send instead
        (the redirect that sets the cookie, or the 401 page)."""
        given = request.query_params.get(TOKEN_PARAM)
        if given is not None:
            return self._sign_in(request) if same_secret(given, self.token) else unauthorized()
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "token" and same_secret(value.strip(), self.token):
            return None
        cookie = request.cookies.get(COOKIE)
        if cookie is not None and same_secret(cookie, self.cookie_value):
            return None
        return unauthorized()

    def _sign_in(self, request: Request) -> Response:
        """The cookie, and the same URL without the token. A link followed from another site
        gets a page that moves on by itself instead of a redirect: the browser would not send a
        SameSite=Strict cookie on a redirect that another site started."""
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != TOKEN_PARAM]
        url = request.url.path + (f"?{urlencode(rest)}" if rest else "")
        response: Response
        if request.headers.get("sec-fetch-site") == "cross-site":
            response = HTMLResponse(_CONTINUE.format(url=escape(url)))
        else:
            response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            COOKIE,
            self.cookie_value,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.headers["Cache-Control"] = "no-store"
        return response


def unauthorized() -> HTMLResponse:
    """The 401 page: how to get in, nothing else."""
    return HTMLResponse(
        _UNAUTHORIZED,
        status_code=401,
        headers={"WWW-Authenticate": 'Token realm="vitrina console"', "Cache-Control": "no-store"},
    )
