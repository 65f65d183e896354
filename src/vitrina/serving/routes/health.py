"""``GET /health`` (the process is up), ``GET /ready`` (models loaded), ``GET /metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from vitrina.serving.api_models import HealthResponse, ReadyResponse
from vitrina.serving.deps import State, envelope

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthResponse)
async def health(request: Request, state: State) -> HealthResponse:
    """Liveness: answers while the process runs (on the event loop: a busy threadpool must not
    make a liveness probe fail)."""
    return HealthResponse(**envelope(request, state), status="ok")


@router.get("/ready", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
def ready(request: Request, state: State) -> Response:
    """Readiness: 200 when recommendations can be answered and search is not broken, else 503.
    ``refused`` names each version refused at start-up or reload and what serves instead."""
    body = ReadyResponse(
        **envelope(request, state),
        ready=state.ready,
        components=state.components(),
        refused=list(state.refused.values()),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if body.ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request, state: State) -> Response:
    """Prometheus text exposition: this process's metrics, or every worker's summed when
    ``vitrina serve --workers N`` runs several (:mod:`vitrina.adapters.prometheus.multiprocess`)."""
    envelope(request, state)
    state.record_served_batch()
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
