"""``GET /products/{id}/similar`` and ``/products/{id}/bought-together``: a product page's lists.

Both are read from the serving store's current batch, keyed by product (computed by the
batch, :mod:`vitrina.pipelines.recs.keyed_lists`, with the category's popular products already
filling short lists), so a read costs what a ``/recs`` read costs. A product the batch does
not know (added since), no batch, or a store that is down: the popularity list, flagged
``fallback`` with the reason and counted in ``vitrina_fallbacks_total`` under the route.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pydantic_core

from vitrina.adapters.prometheus.instruments import ServiceMetrics
from vitrina.adapters.stores import Recommendation, StoreUnavailableError
from vitrina.adapters.stores.base import SIMILAR, TOGETHER
from vitrina.serving.experiment_config import CHAMPION
from vitrina.serving.popular_fallback import PopularList
from vitrina.serving.store_handle import StoreHandle

ROUTES = {SIMILAR: "/products/{product_id}/similar", TOGETHER: "/products/{product_id}/bought-together"}
NAMES = {SIMILAR: "similar", TOGETHER: "bought_together"}  # as the response names them


@dataclass(frozen=True, slots=True)
class ProductListAnswer:
    """The fields of :class:`~vitrina.serving.api_models.ProductListResponse`, in its order."""

    request_id: str
    model_version: str
    product_id: str
    kind: str
    items: Sequence[Recommendation]
    fallback: bool
    fallback_reason: str | None = None
    batch_version: str | None = None
    generated_at: dt.datetime | None = None

    def to_json(self) -> bytes:
        """The response's bytes, no model built per item (as ``RecsAnswer.to_json``)."""
        return pydantic_core.to_json(
            {
                "request_id": self.request_id,
                "model_version": self.model_version,
                "arm": CHAMPION,
                "experiment": None,
                "product_id": self.product_id,
                "kind": self.kind,
                "items": [{"product_id": p, "score": float(s), "reason": r} for p, s, r in self.items],
                "fallback": self.fallback,
                "fallback_reason": self.fallback_reason,
                "batch_version": self.batch_version,
                "generated_at": self.generated_at,
            }
        )


@dataclass
class ProductLists:
    """Reads a product's list of one kind, or answers with the popular list."""

    store: StoreHandle
    popular: PopularList
    metrics: ServiceMetrics

    async def answer(self, kind: str, product_id: str, k: int, request_id: str) -> ProductListAnswer:
        try:
            version, record = await self.store.lookup(product_id, kind)
        except StoreUnavailableError:
            return self._fallback(kind, product_id, k, request_id, "store_unavailable")
        if record is None:
            return self._fallback(
                kind, product_id, k, request_id, "unknown_product" if version else "no_batch"
            )
        return ProductListAnswer(
            request_id=request_id,
            model_version=record.model_version,
            product_id=product_id,
            kind=NAMES[kind],
            items=record.items[:k],
            fallback=False,
            batch_version=record.version,
            generated_at=record.generated_at,
        )

    def _fallback(
        self, kind: str, product_id: str, k: int, request_id: str, reason: str
    ) -> ProductListAnswer:
        self.metrics.fallbacks.labels(route=ROUTES[kind], reason=reason).inc()
        items = [item for item in self.popular.items if item.product_id != product_id][:k]
        return ProductListAnswer(
            request_id=request_id,
            model_version=self.popular.model_version,
            product_id=product_id,
            kind=NAMES[kind],
            items=items,
            fallback=True,
            fallback_reason=reason,
        )
