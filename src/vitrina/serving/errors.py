"""The error envelope (:class:`~vitrina.serving.api_models.ErrorResponse`) as the exception
handlers and the ASGI layers build it, and the bounds on what a 4xx body may echo.

A validation error list is the client's input reflected back: a body of 900,000 unknown keys
once answered with a 141 MB list. Only the first :data:`MAX_ERRORS` errors are returned (the
count says how many there were), and every location part and message is shortened to
:data:`MAX_ERROR_CHARS` characters, so a 4xx body stays a few kilobytes whatever was sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from vitrina.serving.api_models import PATTERN_MEANINGS

MAX_ERRORS = 20
MAX_ERROR_CHARS = 200


def shorten(value: object, limit: int = MAX_ERROR_CHARS) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def capped_errors(errors: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first :data:`MAX_ERRORS` errors, with only ``loc`` / ``msg`` / ``type``, shortened;
    a pattern the value does not match is said in words."""
    capped = []
    for error in errors[:MAX_ERRORS]:
        loc = [part if isinstance(part, int) else shorten(part) for part in error.get("loc", ())]
        pattern = str((error.get("ctx") or {}).get("pattern"))
        message = shorten(PATTERN_MEANINGS.get(pattern, error.get("msg", "invalid")))
        capped.append({"loc": loc, "msg": message, "type": shorten(error.get("type"))})
    return capped


def validation_detail(errors: Sequence[dict[str, Any]], total: int) -> str:
    """``"query k: Input should be less than or equal to 100; …"``: where, then what."""
    parts = [f"{' '.join(str(p) for p in error['loc'])}: {error['msg']}" for error in errors]
    if total > len(errors):
        parts.append(f"and {total - len(errors)} more errors")
    return "; ".join(parts) or "invalid request"


def envelope(
    detail: str,
    *,
    request_id: str,
    model_version: str,
    arm: str,
    errors: Sequence[dict[str, Any]] | None = None,
    error_count: int | None = None,
) -> dict[str, Any]:
    """The JSON body of an error response."""
    body: dict[str, Any] = {
        "detail": detail,
        "errors": list(errors) if errors is not None else None,
        "request_id": request_id,
        "model_version": model_version,
        "arm": arm,
    }
    if error_count is not None:
        body["error_count"] = error_count
    return body


def envelope_bytes(detail: str, *, request_id: str, model_version: str, arm: str) -> bytes:
    return json.dumps(envelope(detail, request_id=request_id, model_version=model_version, arm=arm)).encode()
