"""``GET /recs/{user_id}``: the user's precomputed list, or popularity when it cannot be served.

Degrade, don't fail (SPEC §6): a store that is down, a user without a list, no published
batch — all answer with the in-memory popularity list, flagged ``fallback`` with the reason
and counted in ``vitrina_fallbacks_total``. The challenger arm of a recs experiment is the
popularity list too (see :mod:`vitrina.serving.experiment`); it is not a fallback. An A/A
experiment (challenger ``champion``) serves both arms from the store, labelled by arm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vitrina.monitoring.metrics import ServiceMetrics
from vitrina.serving.experiment import CHALLENGER, CHAMPION, RecsExperiment
from vitrina.serving.popular import PopularList
from vitrina.serving.schemas import RecItem, RecsResponse
from vitrina.serving.store_handle import StoreHandle
from vitrina.serving.stores import RecsRecord, StoreUnavailableError

log = logging.getLogger(__name__)
ROUTE = "/recs/{user_id}"


@dataclass
class RecsService:
    """The store, the fallback list and the metrics the route needs."""

    store: StoreHandle
    popular: PopularList
    metrics: ServiceMetrics

    def _items(self, record: RecsRecord | None, k: int) -> list[RecItem]:
        items = self.popular.items if record is None else record.items
        return [RecItem(product_id=p, score=s, reason=r) for p, s, r in items[:k]]

    def _popular(
        self, reason: str, user_id: str, k: int, request_id: str, arm: str, exp: str | None, *, fallback: bool
    ) -> RecsResponse:
        """The popularity list: a fallback (counted) or the popularity challenger's answer."""
        if fallback:
            self.metrics.fallbacks.labels(route=ROUTE, reason=reason).inc()
        return RecsResponse(
            request_id=request_id,
            model_version=self.popular.model_version,
            arm=arm,
            experiment=exp,
            user_id=user_id,
            items=self._items(None, k),
            fallback=fallback,
            fallback_reason=reason,
        )

    def _fallback(
        self, reason: str, user_id: str, k: int, request_id: str, arm: str, exp: str | None
    ) -> RecsResponse:
        return self._popular(reason, user_id, k, request_id, arm, exp, fallback=True)

    def recommend(self, *, user_id: str, k: int, request_id: str, experiment: RecsExperiment) -> RecsResponse:
        assigned = experiment.arm(user_id)
        shadow = experiment.shadow and assigned == CHALLENGER
        arm = CHAMPION if shadow else assigned  # the arm shown
        name = experiment.name if experiment.enabled else None
        if name is not None:
            self.metrics.experiment_exposures.labels(experiment=name, arm=arm).inc()
        if arm == CHALLENGER and experiment.challenger == "popularity":
            return self._popular("experiment", user_id, k, request_id, arm, name, fallback=False)
        try:
            record = self.store.get(user_id)
        except StoreUnavailableError:
            return self._fallback("store_unavailable", user_id, k, request_id, arm, name)
        if record is None:
            reason = "unknown_user" if self.store.current_version() else "no_batch"
            return self._fallback(reason, user_id, k, request_id, arm, name)
        if shadow:  # computed and logged, never shown
            source = self.popular.items if experiment.challenger == "popularity" else record.items
            hidden = [item.product_id for item in source[:k]]
            log.info(
                "shadow recs", extra={"experiment": name, "user_id": user_id, "challenger_items": hidden}
            )
        return RecsResponse(
            request_id=request_id,
            model_version=record.model_version,
            arm=arm,
            experiment=name,
            user_id=user_id,
            items=self._items(record, k),
            fallback=False,
            batch_version=record.version,
            generated_at=record.generated_at,
        )
