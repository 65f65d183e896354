"""``GET /search``."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from vitrina.serving.api_models import (
    DEFAULT_K,
    ID_PATTERN,
    MAX_K,
    MAX_QUERY_CHARS,
    QUERY_PATTERN,
    ErrorResponse,
    SearchResponse,
)
from vitrina.serving.deps import State, mark
from vitrina.serving.search.answer import SearchUnavailableError

router = APIRouter(tags=["search"])


@router.get(
    "/search",
    response_model=SearchResponse,
    responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def search(
    request: Request,
    state: State,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            pattern=QUERY_PATTERN,
            description="What the shopper typed: something other than blanks, no NUL character.",
        ),
    ],
    user_id: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Personalise for this user.")
    ] = None,
    k: Annotated[int, Query(ge=1, le=MAX_K, description="How many results (1–100).")] = DEFAULT_K,
) -> SearchResponse:
    """Hybrid search (BM25 ∥ semantic → LambdaRank → rules) over the served index version."""
    ask = partial(
        state.search.search,
        q=q,
        user_id=user_id,
        k=k,
        request_id=request.state.request_id,
        experiment=state.experiment.search,
    )
    try:  # the engine's milliseconds of CPU run in the threadpool, the rest on the event loop
        answer = await run_in_threadpool(ask)
    except SearchUnavailableError as error:
        raise HTTPException(503, str(error)) from error
    mark(request, model_version=answer.model_version, arm=answer.arm)
    if state.answers is not None:  # queued: written to the event buffer in the background
        state.answers.record(answer, user_id=user_id)
    return answer
