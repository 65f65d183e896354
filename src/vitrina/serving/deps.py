"""FastAPI dependencies: the loaded state, the admin API key check, the envelope fields."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request

from vitrina.serving.middleware import NO_ARM
from vitrina.serving.state import ServingState


async def get_state(request: Request) -> ServingState:
    """Async on purpose: FastAPI runs a plain ``def`` dependency in the threadpool, a thread
    hand-off per request for an attribute read."""
    state: ServingState = request.app.state.serving
    return state


State = Annotated[ServingState, Depends(get_state)]


def envelope(
    request: Request, state: ServingState, *, model_version: str | None = None, arm: str = NO_ARM
) -> dict[str, Any]:
    """The :class:`~vitrina.serving.api_models.Envelope` fields for this request; also recorded
    for the response headers."""
    version = model_version or state.served_versions()
    request.state.model_version = version
    request.state.arm = arm
    return {"request_id": request.state.request_id, "model_version": version, "arm": arm}


def mark(request: Request, *, model_version: str, arm: str) -> None:
    """Record what answered, for the response headers."""
    request.state.model_version = model_version
    request.state.arm = arm


def require_admin(
    state: State,
    x_api_key: Annotated[str | None, Header(alias="X-API-Key", description="The admin API key.")] = None,
) -> None:
    """401 without a key, 403 with a wrong one (constant-time comparison); 503 when no key is
    configured (admin endpoints are off rather than open)."""
    expected = state.settings.admin_api_key
    if expected is None:
        raise HTTPException(503, "admin endpoints are disabled: set VITRINA_ADMIN_API_KEY")
    if not x_api_key:
        raise HTTPException(401, "missing X-API-Key header", headers={"WWW-Authenticate": "X-API-Key"})
    if not hmac.compare_digest(x_api_key.encode(), expected.get_secret_value().encode()):
        raise HTTPException(403, "invalid API key")


Admin = Depends(require_admin)
