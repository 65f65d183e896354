"""``GET /recs/{user_id}``: the hot path of the API.

The route keeps FastAPI's validation (the path pattern, ``k`` in 1–100) and documents
:class:`~vitrina.serving.api_models.RecsResponse` as its schema, but returns the answer's JSON
bytes in a :class:`~fastapi.Response`: FastAPI then neither validates the answer a second
time nor serialises it again. It reads the loaded state off the app instead of through the
``State`` dependency (one dependency fewer to solve per request).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from vitrina.serving.api_models import DEFAULT_K, ID_PATTERN, MAX_K, ErrorResponse, RecsResponse
from vitrina.serving.deps import mark
from vitrina.serving.state import ServingState

router = APIRouter(tags=["recommendations"])
JSON = "application/json"


@router.get("/recs/{user_id}", response_model=RecsResponse, responses={422: {"model": ErrorResponse}})
async def get_recs(
    request: Request,
    user_id: Annotated[str, Path(pattern=ID_PATTERN, description="The shopper.")],
    k: Annotated[int, Query(ge=1, le=MAX_K, description="How many items (1–100).")] = DEFAULT_K,
    list_name: Annotated[
        Literal["for_you", "buy_again", "discover"],
        Query(
            alias="list",
            description="for_you: the personal list; buy_again: what the user bought and may buy again "
            "(most bought first; popularity, flagged no_purchases, for a user who bought nothing); "
            "discover: products the user never bought, from the policy chosen on the shop's "
            "validation window for finding new items (a user the batch has no such list for gets "
            "the for_you list's fallbacks: from their recent choices, else popularity flagged "
            "unknown_user).",
        ),
    ] = "for_you",
) -> Response:
    """The user's "Para ti" list (precomputed), or popularity flagged ``fallback``. A user the
    batch has not seen gets a list from the products they chose since (``POST /events``)."""
    state: ServingState = request.app.state.serving
    answer = await state.recs.recommend(  # on the event loop, whatever the store (see StoreHandle.lookup)
        user_id=user_id,
        k=k,
        request_id=request.state.request_id,
        experiment=state.experiment.recs,
        list_name=list_name,
    )
    mark(request, model_version=answer.model_version, arm=answer.arm)
    return Response(answer.to_json(), media_type=JSON)
