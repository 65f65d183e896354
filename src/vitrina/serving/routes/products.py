"""``GET /products/{product_id}/similar`` and ``/products/{product_id}/bought-together``.

Like ``/recs``: FastAPI validates the path and ``k`` and documents
:class:`~vitrina.serving.api_models.ProductListResponse`; the answer's bytes go out as they are
(:mod:`vitrina.serving.recs.products`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from vitrina.adapters.stores.base import SIMILAR, TOGETHER
from vitrina.serving.api_models import DEFAULT_K, ID_PATTERN, MAX_K, ErrorResponse, ProductListResponse
from vitrina.serving.deps import mark
from vitrina.serving.experiment_config import CHAMPION
from vitrina.serving.state import ServingState

router = APIRouter(tags=["recommendations"])
JSON = "application/json"
ProductId = Annotated[str, Path(pattern=ID_PATTERN, description="The product whose page shows the list.")]
K = Annotated[int, Query(ge=1, le=MAX_K, description="How many items (1–100).")]
ERRORS: dict[int | str, dict[str, object]] = {422: {"model": ErrorResponse}}


async def _answer(request: Request, kind: str, product_id: str, k: int) -> Response:
    state: ServingState = request.app.state.serving
    answer = await state.products.answer(kind, product_id, k, request.state.request_id)
    mark(request, model_version=answer.model_version, arm=CHAMPION)
    return Response(answer.to_json(), media_type=JSON)


@router.get("/products/{product_id}/similar", response_model=ProductListResponse, responses=ERRORS)
async def get_similar(request: Request, product_id: ProductId, k: K = DEFAULT_K) -> Response:
    """Products like this one: chosen by the same shoppers in the same sessions, and close in
    content (two-tower item embeddings); the category's popular products complete the list.
    Unknown product or no batch: popularity, flagged ``fallback``."""
    return await _answer(request, SIMILAR, product_id, k)


@router.get("/products/{product_id}/bought-together", response_model=ProductListResponse, responses=ERRORS)
async def get_bought_together(request: Request, product_id: ProductId, k: K = DEFAULT_K) -> Response:
    """Products put in the same carts and orders as this one; the category's popular products
    complete the list. Unknown product or no batch: popularity, flagged ``fallback``."""
    return await _answer(request, TOGETHER, product_id, k)
