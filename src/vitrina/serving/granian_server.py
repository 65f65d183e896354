"""``vitrina serve --server granian``: the API under granian (a Rust HTTP server) instead of uvicorn.

Under load on a small machine a request's latency is mostly its wait for a core, so the CPU
each request costs is what decides the tail (docs/adr/0047). granian parses HTTP/1, keeps the
connections and writes the responses in Rust: the Python side runs only the ASGI app, where
uvicorn runs its protocol, the parser's callbacks and the transport writes in Python on the
event loop.

What uvicorn gives the API, and how granian gives the same:

- the app factory, in each worker (``factory=True`` on
  :func:`vitrina.serving.worker.app_from_environment`), with the lifespan (``asgi``
  interface, whose lifespan state reaches every request's scope);
- a deadline on request headers: granian's HTTP/1 ``header_read_timeout`` (milliseconds,
  at most 60 s: :func:`http1_settings`), and a cap on their size: its read buffer,
  ``max_buffer_size`` (:data:`vitrina.serving.protocol.MAX_HEADER_BYTES`), beyond which
  the headers are refused with 431;
- no access log (the app writes its own); granian's own log lines go through the JSON
  logging :func:`~vitrina.serving.request_logs.configure_logging` set up;
- SIGTERM and SIGINT: the main process stops its workers gracefully (the lifespan's
  shutdown runs in each);
- the multiprocess metrics, the reload signal and the console token are the app's and the
  environment's, as under uvicorn (:func:`vitrina.serving.worker.serve` prepares them).

granian always runs its workers in child processes, also for ``--workers 1``; each worker
answers on the shared socket.
"""

from __future__ import annotations

import logging
import math

from vitrina.serving.protocol import MAX_HEADER_BYTES

MAX_HEADER_TIMEOUT_MS = 60_000  # granian's upper bound for header_read_timeout
log = logging.getLogger(__name__)
# granian's loggers hand their records to the root logger (vitrina's JSON lines) instead of
# printing with handlers of their own; its access logger stays off.
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        "_granian": {"handlers": [], "propagate": True},
        "granian.access": {"handlers": [], "propagate": False},
    },
}


def header_timeout_ms(seconds: float) -> int:
    """The header deadline in granian's unit (whole milliseconds, 1 to 60,000: a longer
    setting is served as 60 s, with a warning)."""
    ms = max(1, math.ceil(seconds * 1000))
    if ms > MAX_HEADER_TIMEOUT_MS:
        log.warning(
            "granian reads headers for at most 60 s: the header timeout of %g s is cut to 60 s", seconds
        )
    return min(ms, MAX_HEADER_TIMEOUT_MS)


def http1_settings(header_timeout_seconds: float) -> object:
    """granian's HTTP/1 settings: the header deadline and the header size cap (its read
    buffer holds the whole request head; granian's floor for it is 8 KiB)."""
    from granian.http import HTTP1Settings

    return HTTP1Settings(
        header_read_timeout=header_timeout_ms(header_timeout_seconds),
        keep_alive=True,
        max_buffer_size=max(8192, MAX_HEADER_BYTES),
    )


def run(
    factory: str, *, host: str, port: int, workers: int, header_timeout_seconds: float, log_level: str
) -> None:
    """Serve ``factory`` (``module:function``) with granian until SIGTERM or SIGINT."""
    from granian.constants import HTTPModes, Interfaces, Loops, RuntimeModes
    from granian.log import LogLevels
    from granian.server import Server

    server = Server(
        factory,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,  # HAProxy and the clients speak HTTP/1.1 to the API
        runtime_mode=RuntimeModes.st,  # one Rust thread beside the Python one
        workers=workers,
        loop=Loops.auto,
        http1_settings=http1_settings(header_timeout_seconds),  # type: ignore[arg-type]
        log_enabled=True,
        log_level=LogLevels(log_level.lower()),
        log_dictconfig=LOG_CONFIG,
        log_access=False,
        factory=True,
        websockets=False,
    )
    server.serve()
