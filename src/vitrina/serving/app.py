"""The FastAPI application (docs/spec.md §6): :func:`create_app` builds it, the lifespan loads
everything once (:func:`~vitrina.serving.state.load_state`) and closes it on shutdown.

``vitrina serve`` runs it with uvicorn; tests drive it with ``TestClient``. Errors keep the
envelope: 4xx/5xx bodies are :class:`~vitrina.serving.api_models.ErrorResponse` with the
request id, and validation errors say which parameter is wrong and why.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import vitrina
from vitrina.adapters.prometheus.instruments import build_metrics
from vitrina.adapters.prometheus.multiprocess import process_exited
from vitrina.config import Settings
from vitrina.serving import errors as errors_module
from vitrina.serving import gc_freeze, reload_signal
from vitrina.serving.api_models import ErrorResponse
from vitrina.serving.console import pages as console_pages
from vitrina.serving.console import router as console
from vitrina.serving.event_models import events_model
from vitrina.serving.limits import RequestLimits
from vitrina.serving.middleware import NO_ARM, RequestContextMiddleware
from vitrina.serving.openapi import envelope_for_validation_errors
from vitrina.serving.recs.fast_path import RecsLane
from vitrina.serving.routes import admin, events, health, products, recs, search, suggest
from vitrina.serving.security_headers import SecurityHeaders
from vitrina.serving.state import ServingState, load_state


def _error_body(
    request: Request,
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    error_count: int | None = None,
) -> JSONResponse:
    serving: ServingState | None = getattr(request.app.state, "serving", None)
    body = errors_module.envelope(
        detail,
        request_id=request.scope.get("state", {}).get("request_id", ""),
        model_version=serving.served_versions() if serving is not None else "not loaded",
        arm=NO_ARM,
        errors=errors,
        error_count=error_count,
    )
    return JSONResponse(body, status_code=status)


def _unparsable_body(error: StarletteHTTPException) -> bool:
    """FastAPI's answer to a body that is not text it can decode (bytes that are not UTF-8, a
    nesting too deep for the JSON parser): a 400 raised from the parser's exception. The
    client sent an invalid body, so it is answered as every other invalid body is: 422."""
    parser_error = error.__cause__ is not None and "parsing the body" in str(error.detail)
    return error.status_code == 400 and parser_error


async def _settle_after(warm_up: Callable[[], None]) -> None:
    """Freeze the heap again once the console's warm-up (MLflow, DuckDB) has loaded; a
    shutdown does not wait for the warm-up."""
    await anyio.to_thread.run_sync(warm_up, abandon_on_cancel=True)
    gc_freeze.settle()


def create_app(settings: Settings, *, warm_console: bool = False, recs_lane: bool = True) -> FastAPI:
    """A new app serving ``settings``' home; nothing is loaded until the lifespan starts.
    ``warm_console`` starts the console's slow reads in the background at start-up
    (``vitrina serve``); tests leave it off so short-lived apps start no threads.
    ``recs_lane=False`` leaves every ``/recs`` request to FastAPI (the lane's equivalence test)."""
    metrics = build_metrics()
    # POST /events holds events to this shop's contract, as validation will (a bad shop file
    # fails here, before anything starts: ShopFileError)
    events_body = events_model(settings.shop.contracts)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        serving: ServingState = await run_in_threadpool(load_state, settings, metrics)
        app.state.serving = serving
        gc_freeze.settle()
        tasks = [asyncio.create_task(serving.generations.follow(serving.apply_peer_changes))]
        if warm_console and settings.console:
            caches = console_pages.app_caches(app, serving)
            tasks.append(asyncio.create_task(_settle_after(caches.wait_warm)))
        try:
            yield
        finally:
            for task in tasks:
                await reload_signal.stop(task)
            serving.close()
            await serving.aclose()  # the Redis readers live on this loop
            process_exited()

    app = FastAPI(
        title="vitrina",
        version=vitrina.__version__,
        description="Recommendations and product search for marketplaces (docs/spec.md §6).",
        lifespan=lifespan,
        # vitrina exports Prometheus metrics and JSON logs of its own; FastAPI's native
        # OpenTelemetry would only ask, on every request, whether a provider is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.events_model = events_body

    def versions() -> str:
        serving: ServingState | None = getattr(app.state, "serving", None)
        return serving.served_versions() if serving is not None else "not loaded"

    if recs_lane:  # added first, so it runs inside the request context
        app.add_middleware(
            RecsLane,
            serving=lambda: getattr(app.state, "serving", None),
            router=recs.router,
            products=products.router,
        )
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
        versions=versions,
    )
    app.add_middleware(RequestContextMiddleware, metrics=lambda: metrics, versions=versions)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, error: RequestValidationError) -> JSONResponse:
        every = error.errors()
        errors = errors_module.capped_errors(every)
        detail = errors_module.validation_detail(errors, len(every))
        # The frame that raised holds the parsed body and the error, the error's traceback
        # holds that frame: a cycle only a full collection frees, keeping each invalid body
        # (a 2 MB body of 150,000 keys parses to ≈ 25 MB) alive for seconds. Cut it now.
        error.__traceback__ = None
        return _error_body(request, 422, detail, errors, len(every))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if _unparsable_body(error):
            cause = errors_module.shorten(error.__cause__)
            message = f"not a readable JSON body: {cause}"
            problem = {"loc": ["body"], "msg": message, "type": "body_unreadable"}
            return _error_body(request, 422, f"body: {message}", [problem], 1)
        response = _error_body(request, error.status_code, str(error.detail))
        response.headers.update(error.headers or {})
        return response

    for module in (recs, products, search, suggest, events, health, admin):
        app.include_router(module.router)
    console.mount(app, settings)
    envelope_for_validation_errors(app, (ErrorResponse, events_body))
    return app
