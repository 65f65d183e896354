"""Structured JSON logs carrying the request id (docs/spec.md §5.8).

:data:`request_id_var` holds the id of the request being served (set by the middleware);
:class:`JsonFormatter` writes one JSON object per line with it and any ``extra=`` fields.
:func:`configure_logging` installs the formatter on the root logger — called by
``vitrina serve``, never at import time.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# One encoder for every line: ``json.dumps`` with options builds a new one per call, a
# measurable share of the access log line the middleware writes per request.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", ...extra}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(payload)


def configure_logging(level: str = "INFO") -> None:
    """Route every logger (uvicorn's too) through one JSON handler on stderr.

    The thread and process names a log record looks up when it is created are switched
    off: :class:`JsonFormatter` never writes them, and the access log creates a record
    per request."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs each request
