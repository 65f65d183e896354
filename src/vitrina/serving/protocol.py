"""uvicorn's HTTP/1.1 protocol with a deadline on request headers (``vitrina serve``).

uvicorn (0.54) has a keep-alive timeout but none for reading a request: the keep-alive timer
is cancelled by the first byte of the next request, and no timer runs on a fresh connection,
so a client that sends a partial request line or headers, a byte now and then (slowloris),
holds its connection, its parser buffers and a slot of the server for as long as it likes.
ASGI code cannot help: it runs only once the headers are complete. So the protocol itself
arms a deadline when a connection opens and when the first byte of each next request
arrives, disarms it when the request's headers are complete (the body then has its own
deadline, :mod:`vitrina.serving.limits`), and closes the connection when it passes. Headers
larger than :data:`MAX_HEADER_BYTES` close it too (uvicorn's default parser, httptools,
has no limit of its own).

The deadline is ``VITRINA_HEADER_TIMEOUT_SECONDS``, read from the environment once per
process (uvicorn builds the protocol in each worker; :func:`vitrina.serving.worker.serve`
exports the setting). The parser underneath is uvicorn's choice for ``--http auto``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
except ImportError:  # pragma: no cover - httptools is a dependency; h11 is uvicorn's fallback
    Base = H11Protocol  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)
MAX_HEADER_BYTES = 64 * 1024


@functools.cache
def header_timeout() -> float:
    from vitrina.config import get_settings

    return get_settings().header_timeout_seconds


class HeaderDeadlineProtocol(Base):  # type: ignore[misc,valid-type]
    """See the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout()
        self._deadline: asyncio.TimerHandle | None = None
        self._armed_for: object = None  # the cycle that was current when the deadline was armed
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if self._deadline is None:
            return
        if self.cycle is not self._armed_for:  # a new request's headers are complete
            self._disarm()
            return
        self._header_bytes += len(data)
        if self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
            log.warning("closing a connection whose request headers exceed %d bytes", MAX_HEADER_BYTES)
            self._disarm()
            self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._armed_for = self.cycle
        self._header_bytes = 0
        self._deadline = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.info("closing a connection without complete request headers in %g s", self.header_timeout)
            self.transport.close()
