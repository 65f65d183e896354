"""``GET /recs/{user_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from vitrina.serving.deps import State, mark
from vitrina.serving.schemas import ID_PATTERN, MAX_K, ErrorResponse, RecsResponse

router = APIRouter(tags=["recommendations"])


@router.get("/recs/{user_id}", response_model=RecsResponse, responses={422: {"model": ErrorResponse}})
def get_recs(
    request: Request,
    state: State,
    user_id: Annotated[str, Path(pattern=ID_PATTERN, description="The shopper.")],
    k: Annotated[int, Query(ge=1, le=MAX_K, description="How many items (1–100).")] = 20,
) -> RecsResponse:
    """The user's "Para ti" list (precomputed), or popularity flagged ``fallback``."""
    answer = state.recs.recommend(
        user_id=user_id, k=k, request_id=request.state.request_id, experiment=state.experiment.recs
    )
    mark(request, model_version=answer.model_version, arm=answer.arm)
    return answer
