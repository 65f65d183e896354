"""``GET /search``; while a search experiment runs, each plain search's arm, status, latency
and whether it was degraded go to the request log (what a canary's guardrails read)."""

from __future__ import annotations

import time
from functools import partial
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from vitrina.core.search.filters import FilterError
from vitrina.core.search.pages import MAX_OFFSET
from vitrina.core.search.sorting import Sort
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
from vitrina.serving.experiment_requests import log_request, shown_arm
from vitrina.serving.search.answer import MISSING, SearchUnavailableError
from vitrina.serving.search.browse import BrowseRequest, browse
from vitrina.serving.search.marketplace_params import browse_request

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
    k: Annotated[
        int, Query(ge=1, le=MAX_K, description="How many results (1–100): the page size.")
    ] = DEFAULT_K,
    category: Annotated[
        list[str] | None, Query(description="Category name at any level (repeat for any of several).")
    ] = None,
    brand: Annotated[list[str] | None, Query(description="Brand name (repeat for any of several).")] = None,
    seller: Annotated[list[str] | None, Query(description="Seller id (repeat for any of several).")] = None,
    price_min: Annotated[float | None, Query(ge=0, description="Lowest price (inclusive).")] = None,
    price_max: Annotated[float | None, Query(ge=0, description="Highest price (inclusive).")] = None,
    in_stock: Annotated[
        bool,
        Query(description="Only products in stock: always true (out-of-stock products are never shown)."),
    ] = True,
    sort: Annotated[Sort, Query(description="relevance | price_asc | price_desc | newest")] = "relevance",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip this many results.")] = 0,
    cursor: Annotated[
        str | None, Query(max_length=512, description="The previous page's next_cursor (instead of offset).")
    ] = None,
    facets: Annotated[bool, Query(description="Count categories, brands, sellers and price bands.")] = False,
) -> SearchResponse:
    """Hybrid search (BM25 ∥ semantic → LambdaRank → rules) over the served index version;
    with filters, facets, pages or a sort, a page of the whole filtered result list."""
    try:
        wanted: BrowseRequest = browse_request(
            category, brand, seller, price_min, price_max, in_stock, sort, offset, cursor, facets
        )
    except FilterError as error:
        raise HTTPException(422, str(error)) from error
    experiment = state.experiment.search
    logged = experiment.enabled and wanted.is_plain
    started = time.perf_counter()
    try:  # the engine's milliseconds of CPU run in the threadpool, the rest on the event loop
        if wanted.is_plain:
            ask = partial(
                state.search.search,
                q=q,
                user_id=user_id,
                k=k,
                request_id=request.state.request_id,
                experiment=experiment,
            )
            try:
                answer = await run_in_threadpool(ask)
            except Exception as error:
                if logged:
                    status = 503 if isinstance(error, SearchUnavailableError) else 500
                    arm = shown_arm(experiment, user_id)
                    log_request(
                        state.request_log,
                        "search",
                        experiment.name,
                        arm,
                        user_id,
                        request.state.request_id,
                        started,
                        status,
                    )
                raise
            if logged:
                degraded = answer.mode.endswith(MISSING)
                log_request(
                    state.request_log,
                    "search",
                    experiment.name,
                    answer.arm,
                    user_id,
                    request.state.request_id,
                    started,
                    200,
                    degraded,
                )
        if not wanted.is_plain or not answer.items:
            # a marketplace search, or a plain one that found nothing (relaxed from its pool)
            answer = await run_in_threadpool(
                partial(
                    browse,
                    state.search,
                    q=q,
                    user_id=user_id,
                    k=k,
                    request=wanted,
                    request_id=request.state.request_id,
                )
            )
    except SearchUnavailableError as error:
        raise HTTPException(503, str(error)) from error
    except FilterError as error:
        raise HTTPException(422, str(error)) from error
    mark(request, model_version=answer.model_version, arm=answer.arm)
    if state.answers is not None:  # queued: written to the event buffer in the background
        state.answers.record(answer, user_id=user_id, first_position=answer.offset + 1)
    return answer
