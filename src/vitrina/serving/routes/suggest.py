"""``GET /suggest``: autocomplete from the served index version's suggest index.

Answered on the event loop: a lookup is a binary search and a few dozen array operations
(tens of microseconds), cheaper than a hop to the threadpool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from vitrina.core.search.suggest import MAX_K as MAX_SUGGESTIONS
from vitrina.serving.api_models import (
    ID_PATTERN,
    MAX_QUERY_CHARS,
    QUERY_PATTERN,
    ErrorResponse,
    SuggestionItem,
    SuggestResponse,
)
from vitrina.serving.deps import State, mark
from vitrina.serving.experiment_config import CHAMPION

router = APIRouter(tags=["search"])


@router.get(
    "/suggest",
    response_model=SuggestResponse,
    responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def suggest(
    request: Request,
    state: State,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            pattern=QUERY_PATTERN,
            description="What the shopper has typed so far.",
        ),
    ],
    user_id: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Order by this user's favourite categories.")
    ] = None,
    k: Annotated[int, Query(ge=1, le=MAX_SUGGESTIONS, description="How many suggestions (1–20).")] = 8,
) -> SuggestResponse:
    """Completions of ``q``: popular queries, catalog phrases, brands, categories and titles
    that start with it (or with one of its later words), typos corrected."""
    engine = state.search.engine
    if engine is None or engine.suggest is None:
        raise HTTPException(
            503, "no autocomplete index is loaded: run `vitrina train search`, then POST /admin/reload"
        )
    affinity = engine.context.affinity.get(user_id) if user_id is not None else None
    spell = getattr(engine.understanding, "spell", None)  # a stand-in understanding may have none
    correct = spell.correct_token if spell is not None else None
    completion = engine.suggest.complete(q, k, affinity=affinity, correct=correct)
    mark(request, model_version=engine.model_version, arm=CHAMPION)
    return SuggestResponse(
        request_id=request.state.request_id,
        model_version=engine.model_version,
        arm=CHAMPION,
        query=q,
        corrected=completion.corrected,
        index_version=engine.index_version,
        suggestions=[SuggestionItem(text=s.text, kind=s.kind, score=s.score) for s in completion.suggestions],
    )
