"""``GET /recs/{user_id}``."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from vitrina.serving.deps import State, mark
from vitrina.serving.schemas import ID_PATTERN, MAX_K, ErrorResponse, RecsResponse

router = APIRouter(tags=["recommendations"])


@router.get("/recs/{user_id}", response_model=RecsResponse, responses={422: {"model": ErrorResponse}})
async def get_recs(
    request: Request,
    state: State,
    user_id: Annotated[str, Path(pattern=ID_PATTERN, description="The shopper.")],
    k: Annotated[int, Query(ge=1, le=MAX_K, description="How many items (1–100).")] = 20,
) -> RecsResponse:
    """The user's "Para ti" list (precomputed), or popularity flagged ``fallback``."""
    recommend = partial(
        state.recs.recommend,
        user_id=user_id,
        k=k,
        request_id=request.state.request_id,
        experiment=state.experiment.recs,
    )
    # The hot path: an embedded store's read takes microseconds, cheaper on the event loop than
    # a thread hand-off; a network store (Redis) is read in the threadpool, so a slow or hung
    # server never stalls the loop (benchmarks/results/load.md).
    answer = await run_in_threadpool(recommend) if state.store.remote else recommend()
    mark(request, model_version=answer.model_version, arm=answer.arm)
    return answer
