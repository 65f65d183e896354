"""``GET /recs/{user_id}``: the user's precomputed list, or popularity when it cannot be served.

Degrade, don't fail (docs/spec.md §6): a store that is down, a user without a list, no published
batch — all answer with the in-memory popularity list, flagged ``fallback`` with the reason
and counted in ``vitrina_fallbacks_total``. A user the batch has not seen but who chose
products since (``POST /events``) gets a list built from those choices at request time
(:meth:`RecsService._from_session`, counted under the reason ``session``, not flagged).
``list=buy_again`` answers the user's buy-again list (published by the batch) instead;
``list=discover`` the user's discover list (the batch's second policy, never what they bought:
docs/adr/0017), with the main list's fallbacks for a user it does not hold. The
challenger arm of a recs experiment (see :mod:`vitrina.serving.experiment_config`) reads the
registered challenger's lists (the store's challenger version, beside the champion's;
popularity flagged ``no_challenger`` / ``unknown_user`` when it has none for the user), or is
the popularity list (not a fallback then). An A/A experiment (challenger ``champion``)
serves both arms from the store, labelled by arm. In shadow mode the challenger's list is
read after the champion's answer is on its way (a task of its own, the comparison in the
default executor) and compared with it in the shadow log.

The answer is a :class:`RecsAnswer`, encoded straight to the bytes of its
:class:`~vitrina.serving.api_models.RecsResponse` (the route's documented schema): building
and validating twenty ``RecItem`` models and the response model per request cost more than
the store read itself (``benchmarks/results/load.md``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pydantic_core

from vitrina.adapters.experiment_logs import JsonLinesLog
from vitrina.adapters.prometheus.instruments import ServiceMetrics
from vitrina.adapters.stores import Recommendation, RecsRecord, StoreUnavailableError
from vitrina.adapters.stores.base import BUY_AGAIN, DISCOVER, SIMILAR
from vitrina.adapters.stores.base import CHALLENGER as CHALLENGER_CHANNEL
from vitrina.adapters.stores.sessions import SessionHistory
from vitrina.core.experiments.shadow import compare_lists
from vitrina.core.recs.session_list import session_list
from vitrina.serving.experiment_config import CHALLENGER, CHAMPION, REGISTERED, RecsExperiment
from vitrina.serving.experiment_requests import log_request, shown_arm
from vitrina.serving.popular_fallback import PopularList
from vitrina.serving.store_handle import FAILURES, StoreHandle

log = logging.getLogger(__name__)
ROUTE = "/recs/{user_id}"
FOR_YOU = "for_you"
LISTS = (FOR_YOU, BUY_AGAIN, DISCOVER)  # the ``list`` parameter of /recs
SESSION_PRODUCTS = 5  # a new user's latest choices that drive their list


@dataclass(frozen=True, slots=True)
class RecsAnswer:
    """The fields of :class:`~vitrina.serving.api_models.RecsResponse`, in its order, with the
    items as the store holds them."""

    request_id: str
    model_version: str
    arm: str
    experiment: str | None
    user_id: str
    items: Sequence[Recommendation]
    fallback: bool
    fallback_reason: str | None = None
    batch_version: str | None = None
    generated_at: dt.datetime | None = None

    @classmethod
    def of_record(
        cls, record: RecsRecord, user_id: str, k: int, request_id: str, arm: str, experiment: str | None
    ) -> RecsAnswer:
        """The first ``k`` items of a stored list, answered as they are (not a fallback)."""
        return cls(
            request_id=request_id,
            model_version=record.model_version,
            arm=arm,
            experiment=experiment,
            user_id=user_id,
            items=record.items[:k],
            fallback=False,
            batch_version=record.version,
            generated_at=record.generated_at,
        )

    def to_json(self) -> bytes:
        """The bytes ``RecsResponse(...).model_dump_json()`` would give (pydantic's own
        serialiser over plain dicts: same key order, floats and datetimes; a unit test holds
        them equal) without building a model per item."""
        return pydantic_core.to_json(
            {
                "request_id": self.request_id,
                "model_version": self.model_version,
                "arm": self.arm,
                "experiment": self.experiment,
                "user_id": self.user_id,
                "items": [{"product_id": p, "score": float(s), "reason": r} for p, s, r in self.items],
                "fallback": self.fallback,
                "fallback_reason": self.fallback_reason,
                "batch_version": self.batch_version,
                "generated_at": self.generated_at,
            }
        )


@dataclass
class RecsService:
    """The store, the fallback list, the metrics and the session history the route needs."""

    store: StoreHandle
    popular: PopularList
    metrics: ServiceMetrics
    sessions: SessionHistory | None = None
    shadow_log: JsonLinesLog | None = None
    request_log: JsonLinesLog | None = None
    _shadows: set[asyncio.Future[None]] = field(default_factory=set)

    def _popular(
        self, reason: str, user_id: str, k: int, request_id: str, arm: str, exp: str | None, *, fallback: bool
    ) -> RecsAnswer:
        """The popularity list: a fallback (counted) or the popularity challenger's answer."""
        if fallback:
            self.metrics.fallbacks.labels(route=ROUTE, reason=reason).inc()
        return RecsAnswer(
            request_id=request_id,
            model_version=self.popular.model_version,
            arm=arm,
            experiment=exp,
            user_id=user_id,
            items=self.popular.items[:k],
            fallback=fallback,
            fallback_reason=reason,
        )

    def _fallback(
        self, reason: str, user_id: str, k: int, request_id: str, arm: str, exp: str | None
    ) -> RecsAnswer:
        return self._popular(reason, user_id, k, request_id, arm, exp, fallback=True)

    async def recommend(
        self, *, user_id: str, k: int, request_id: str, experiment: RecsExperiment, list_name: str = FOR_YOU
    ) -> RecsAnswer:
        """The answer; while the experiment runs, its arm, status, latency and whether it was
        degraded go to the request log (:mod:`vitrina.serving.experiment_requests`)."""
        if not (experiment.enabled and list_name == FOR_YOU and self.request_log is not None):
            return await self._recommend(user_id, k, request_id, experiment, list_name)
        started = time.perf_counter()
        try:
            answer = await self._recommend(user_id, k, request_id, experiment, list_name)
        except Exception:
            arm = shown_arm(experiment, user_id)
            log_request(self.request_log, "recs", experiment.name, arm, user_id, request_id, started, 500)
            raise
        degraded = answer.fallback and answer.fallback_reason != "experiment"
        log_request(
            self.request_log, "recs", experiment.name, answer.arm, user_id, request_id, started, 200, degraded
        )
        return answer

    async def _recommend(
        self, user_id: str, k: int, request_id: str, experiment: RecsExperiment, list_name: str
    ) -> RecsAnswer:
        if list_name == BUY_AGAIN:
            return await self._buy_again(user_id, k, request_id)
        if list_name == DISCOVER:
            return await self._discover(user_id, k, request_id)
        assigned = experiment.arm(user_id)
        shadow = experiment.shadow and assigned == CHALLENGER
        arm = CHAMPION if shadow else assigned  # the arm shown
        name = experiment.name if experiment.enabled else None
        if name is not None:
            self.metrics.experiment_exposures.labels(experiment=name, arm=arm).inc()
        if arm == CHALLENGER and experiment.challenger == "popularity":
            return self._popular("experiment", user_id, k, request_id, arm, name, fallback=False)
        if arm == CHALLENGER and experiment.challenger == REGISTERED:
            return await self._challenger(user_id, k, request_id, name)
        started = time.perf_counter()
        try:
            version, record = await self.store.lookup(user_id)
        except StoreUnavailableError:
            return self._fallback("store_unavailable", user_id, k, request_id, arm, name)
        if record is None and version and arm == CHAMPION:
            try:
                from_session = await self._from_session(user_id, k, request_id, version, name)
            except StoreUnavailableError:
                return self._fallback("store_unavailable", user_id, k, request_id, arm, name)
            if from_session is not None:
                return from_session
        if record is None:
            reason = "unknown_user" if version else "no_batch"
            return self._fallback(reason, user_id, k, request_id, arm, name)
        if shadow:  # computed and logged off the response path, never shown
            shown = [item.product_id for item in record.items[:k]]
            champion_ms = (time.perf_counter() - started) * 1000
            task = asyncio.ensure_future(self._shadow(user_id, k, request_id, experiment, shown, champion_ms))
            self._shadows.add(task)
            task.add_done_callback(self._shadows.discard)
        return RecsAnswer.of_record(record, user_id, k, request_id, arm, name)

    async def _challenger(self, user_id: str, k: int, request_id: str, name: str | None) -> RecsAnswer:
        """The registered challenger's list for the user (the store's challenger version); a
        user its batch has not seen gets the list from their session, as on the champion's arm
        (a canary must not count the cold-start path one arm lacks as the challenger's fault);
        popularity, flagged, when the store is down, no challenger is published, or neither its
        batch nor the session has anything for the user."""
        try:
            version, record = await self.store.lookup(user_id, channel=CHALLENGER_CHANNEL)
        except StoreUnavailableError:
            return self._fallback("store_unavailable", user_id, k, request_id, CHALLENGER, name)
        if record is None and version:
            try:
                from_session = await self._from_session(user_id, k, request_id, version, name, CHALLENGER)
            except StoreUnavailableError:
                return self._fallback("store_unavailable", user_id, k, request_id, CHALLENGER, name)
            if from_session is not None:
                return from_session
        if record is None:
            reason = "unknown_user" if version else "no_challenger"
            return self._fallback(reason, user_id, k, request_id, CHALLENGER, name)
        return RecsAnswer.of_record(record, user_id, k, request_id, CHALLENGER, name)

    async def _shadow(
        self,
        user_id: str,
        k: int,
        request_id: str,
        experiment: RecsExperiment,
        shown: list[str],
        champion_ms: float,
    ) -> None:
        """The challenger's list for a shadowed request, compared with the shown one and
        logged (:mod:`vitrina.core.experiments.shadow`); a failure is logged, never raised."""
        try:
            started = time.perf_counter()
            if experiment.challenger == "popularity":
                items: Sequence[Recommendation] = self.popular.items[:k]
                model = self.popular.model_version
            elif experiment.challenger == REGISTERED:
                _, record = await self.store.lookup(user_id, channel=CHALLENGER_CHANNEL)
                items = () if record is None else record.items[:k]
                model = "none" if record is None else record.model_version
            else:
                _, record = await self.store.lookup(user_id)
                items = () if record is None else record.items[:k]
                model = "none" if record is None else record.model_version
            challenger_ms = (time.perf_counter() - started) * 1000
            ids, scores = [i.product_id for i in items], [float(i.score) for i in items]
            row = {
                "surface": "recs",
                "experiment": experiment.name,
                "challenger": experiment.challenger,
                "challenger_model": model,
                "user_id": user_id,
                "request_id": request_id,
                "challenger_items": len(ids),
            }
            loop = asyncio.get_running_loop()
            comparison = await loop.run_in_executor(
                None,
                lambda: compare_lists(
                    shown, ids, scores, k, champion_ms=champion_ms, challenger_ms=challenger_ms
                ),
            )
            if self.shadow_log is not None:
                self.shadow_log.record({**row, **comparison.to_dict()})
            else:
                log.info("shadow recs", extra={**row, **comparison.to_dict()})
        except Exception:
            log.exception("shadow recs comparison failed", extra={"user_id": user_id})

    async def _from_session(
        self,
        user_id: str,
        k: int,
        request_id: str,
        version: str,
        experiment: str | None,
        arm: str = CHAMPION,
    ) -> RecsAnswer | None:
        """A user the batch has not seen, with choices in the session history: their list from
        the published ``similar`` lists of those products (:mod:`vitrina.core.recs.session_list`;
        the champion's, which both arms share); None without any choice, or when the session
        history cannot be read (the user then gets the popularity fallback, as before it existed)."""
        if self.sessions is None:
            return None
        try:
            touched = await self.sessions.recent(user_id, SESSION_PRODUCTS)
        except FAILURES as error:
            log.warning("session history unreadable, popularity answers: %s", error)
            return None
        if not touched:
            return None
        found = await asyncio.gather(*(self.store.lookup(product, SIMILAR) for product in touched))
        records = {product: record for product, (_, record) in zip(touched, found, strict=True) if record}
        popular = [(p, s, r) for p, s, r in self.popular.items]
        items = session_list(touched, {p: r.items for p, r in records.items()}, popular, k)
        first = next(iter(records.values()), None)
        self.metrics.fallbacks.labels(route=ROUTE, reason="session").inc()
        return RecsAnswer(
            request_id=request_id,
            model_version=first.model_version if first is not None else self.popular.model_version,
            arm=arm,
            experiment=experiment,
            user_id=user_id,
            items=[Recommendation(p, s, r) for p, s, r in items],
            fallback=False,
            fallback_reason=None,
            batch_version=first.version if first is not None else version,
            generated_at=first.generated_at if first is not None else None,
        )

    async def _buy_again(self, user_id: str, k: int, request_id: str) -> RecsAnswer:
        """The user's buy-again list (no experiment splits it); popularity, flagged, when the
        user bought nothing the batch knows of."""
        try:
            version, record = await self.store.lookup(user_id, BUY_AGAIN)
        except StoreUnavailableError:
            return self._fallback("store_unavailable", user_id, k, request_id, CHAMPION, None)
        if record is None:
            return self._fallback(
                "no_purchases" if version else "no_batch", user_id, k, request_id, CHAMPION, None
            )
        return RecsAnswer.of_record(record, user_id, k, request_id, CHAMPION, None)

    async def _discover(self, user_id: str, k: int, request_id: str) -> RecsAnswer:
        """The user's discover list (no experiment splits it). A user the batch holds no such
        list for gets what the main list would give them: a list from the products they chose
        since (``POST /events``), else popularity flagged ``unknown_user`` (``no_batch`` before
        any batch)."""
        try:
            version, record = await self.store.lookup(user_id, DISCOVER)
            if record is None and version:
                from_session = await self._from_session(user_id, k, request_id, version, None)
                if from_session is not None:
                    return from_session
        except StoreUnavailableError:
            return self._fallback("store_unavailable", user_id, k, request_id, CHAMPION, None)
        if record is None:
            reason = "unknown_user" if version else "no_batch"
            return self._fallback(reason, user_id, k, request_id, CHAMPION, None)
        return RecsAnswer.of_record(record, user_id, k, request_id, CHAMPION, None)
