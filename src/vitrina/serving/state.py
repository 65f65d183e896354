"""Everything the API loads once (FastAPI lifespan) and swaps on ``POST /admin/reload``.

:func:`load_state` opens the serving store, the search result cache and the event buffer
(with the log of ``/search`` answers in front of it: :mod:`vitrina.serving.search.answer_log`),
loads the served index version (verified before use) — and the registered challenger's index
version beside it when one is pointed at (:mod:`vitrina.serving.search.index_loading`) — and
the popularity fallback list, opens the experiment logs (:mod:`vitrina.adapters.experiment_logs`), opens
the shoppers' session history, and reads the experiment file; the result cache is then warmed
with the index version's most searched queries in the background
(:mod:`vitrina.serving.search.warmup`).
:meth:`ServingState.reload` repeats the loading steps and swaps
each part only when its new version loaded and verified: otherwise the previous one keeps
serving and the error is reported (degrade, don't fail). With several worker processes, an
admin change made on one reaches the others through :mod:`vitrina.serving.reload_signal`
(:meth:`ServingState.announce`, :meth:`ServingState.apply_peer_changes`).

Model and index files are checked against their manifests (:mod:`vitrina.core.artifacts.manifest`)
before any native library opens them. A refused current index at start-up falls back to the
versions served before it (else search answers 503); an unreadable store leaves ``/recs`` to
the popularity list. Every refusal is named in ``/ready`` (``refused``) and counted in
``vitrina_artifact_rejected_total``; ``vitrina_serving_fallback`` is 1 while it lasts.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from vitrina.adapters.events import EventBuffer
from vitrina.adapters.experiment_logs import REQUESTS, SHADOW, JsonLinesLog
from vitrina.adapters.prometheus.instruments import ServiceMetrics, build_metrics
from vitrina.adapters.reload_counters import Kind
from vitrina.adapters.search_cache import ResultCache
from vitrina.adapters.search_cache.cached_search import CachedSearch
from vitrina.adapters.stores.sessions import SessionHistory
from vitrina.bootstrap import open_event_buffer, open_result_cache, open_sessions
from vitrina.config import Settings
from vitrina.core.search.engine import SearchEngine
from vitrina.serving import gc_freeze
from vitrina.serving.api_models import ComponentReload, RefusedVersion
from vitrina.serving.experiment_config import ExperimentConfig, load_experiment
from vitrina.serving.popular_fallback import PopularList, load_popular
from vitrina.serving.recs.answer import RecsService
from vitrina.serving.recs.products import ProductLists
from vitrina.serving.reload_signal import Generations
from vitrina.serving.search.answer import SearchService, default_mode
from vitrina.serving.search.answer_log import AnswerLog
from vitrina.serving.search.index_loading import (
    describe_error,
    load_challenger_engine,
    load_engine,
    load_search_at_startup,
)
from vitrina.serving.search.warmup import SearchWarmUp
from vitrina.serving.store_handle import FAILURES, StoreHandle

log = logging.getLogger(__name__)
WARM_LOCK = Path("serving") / ".search-warmup.lock"
WARM_UP_JOIN_S = 60.0
"""How long a stop waits for the warm-up's current query (seconds on a loaded machine)."""


@dataclass
class ServingState:
    """The loaded parts; ``errors`` holds why a part is missing (shown by ``/ready``)."""

    settings: Settings
    metrics: ServiceMetrics
    store: StoreHandle
    cache: ResultCache
    recs: RecsService
    products: ProductLists
    search: SearchService
    experiment: ExperimentConfig
    events: EventBuffer | None
    generations: Generations
    errors: dict[str, str] = field(default_factory=dict)
    refused: dict[str, RefusedVersion] = field(default_factory=dict)
    warm_up: SearchWarmUp | None = None
    answers: AnswerLog | None = None
    """Where ``/search`` answers are logged (None: no event buffer to log them to)."""
    request_log: JsonLinesLog | None = None
    """Each request of a running experiment: arm, status, latency, degraded (the canary reads it)."""
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)

    def served_versions(self) -> str:
        """``recs=<model>;search=<model>@<index>``: the envelope's model_version off the model routes."""
        engine = self.search.engine
        search = "none" if engine is None else f"{engine.model_version}@{engine.index_version}"
        return f"recs={self.recs.popular.model_version};search={search}"

    def components(self) -> dict[str, str]:
        engine = self.search.engine
        version = self.store.current_version()
        return {
            "recs_store": f"ok ({version})"
            if version
            else f"unavailable: {self.store.last_error or 'no batch'}",
            "popular": f"{len(self.recs.popular.items)} items from {self.recs.popular.source}",
            "search": "no index yet" if engine is None else f"ok ({engine.index_version})",
            **(
                {}
                if self.search.challenger is None
                else {"search_challenger": f"ok ({self.search.challenger.index_version})"}
            ),
            **({} if self.warm_up is None else {"search_warmup": self.warm_up.describe()}),
            **{
                f"refused_{name}": f"{r.version or 'store'} refused; serving {r.serving or 'nothing'}"
                for name, r in self.refused.items()
            },
            "events": "ok" if self.events is not None else f"unavailable: {self.errors.get('events')}",
            **{f"error_{name}": error for name, error in self.errors.items()},
        }

    @property
    def ready(self) -> bool:
        """Recs can answer (store up, or a non-empty fallback list) and search is not broken."""
        recs_ok = self.store.available or bool(self.recs.popular.items)
        return recs_ok and "search" not in self.errors and self.events is not None

    def refuse(self, refusal: RefusedVersion) -> None:
        """Record that ``refusal.component`` serves a fallback because a version was refused."""
        self.refused[refusal.component] = refusal
        self.metrics.artifact_rejected.labels(component=refusal.component).inc()
        self.metrics.serving_fallback.labels(component=refusal.component).set(1)

    def serving_current(self, component: str) -> None:
        """``component`` serves its current version again (a reload succeeded)."""
        self.refused.pop(component, None)
        self.metrics.serving_fallback.labels(component=component).set(0)

    def _publish_model_info(self) -> None:
        engine = self.search.engine
        self.metrics.set_model(model="recs", alias="champion", version=self.recs.popular.model_version)
        if engine is not None:
            self.metrics.set_model(model="search", alias="champion", version=engine.model_version)

    def record_served_batch(self) -> None:
        """``vitrina_published_timestamp_seconds{model="recs"}``: when the batch the store serves
        now was published, for the stale-recommendations alert. Read at every scrape: a new
        publication switches the store's current version without reloading the API. The
        pipelines push the same figure; the API's keeps the alert working without a gateway.
        An unreadable store leaves the last value (``/ready`` and the fallback gauge say why)."""
        try:
            store = self.store.store()
            current = store.current_version()
            info = next((v for v in store.versions() if v.version == current), None) if current else None
        except FAILURES as error:
            log.debug("served batch not read for /metrics: %s", error)
            return
        if info is not None:
            published = info.published_at or info.created_at
            self.metrics.published.labels(model="recs").set(published.timestamp())

    def reload_search(self) -> ComponentReload:
        from vitrina.adapters.models.index_versions import current_version

        previous = self.search.engine
        serving = None if previous is None else previous.index_version
        try:
            engine = load_engine(self.settings)
        except Exception as error:
            message = describe_error(error)
            log.error("search reload failed, the previous index keeps serving: %s", message)
            self.errors["search_reload"] = message
            version = current_version(self.settings)
            self.refuse(RefusedVersion(component="search", version=version, reason=message, serving=serving))
            return ComponentReload(ok=False, serving=serving, error=message)
        self.errors.pop("search", None)
        self.errors.pop("search_reload", None)
        self.serving_current("search")
        if engine is None:
            return ComponentReload(ok=True, serving=None if previous is None else previous.index_version)
        self._stop_warm_up()  # before its engine closes: a warm-up must not search a closed engine
        self.search.cached, self.search.unavailable = CachedSearch(engine, self.cache), None
        if previous is not None and previous is not engine:
            previous.close()
        self._reload_challenger(engine)
        self.start_warm_up()
        return ComponentReload(ok=True, serving=engine.index_version)

    def _reload_challenger(self, serving: SearchEngine) -> None:
        """Load (or drop) the challenger index beside the served one, as its pointer says now."""
        from vitrina.adapters.models.index_versions import challenger_version

        old = self.search.challenger
        wanted = challenger_version(self.settings)
        if old is not None and old.index_version == wanted:
            return
        self.search.challenger = load_challenger_engine(self.settings, serving)
        if old is not None:
            old.close()

    def _stop_warm_up(self) -> None:
        """Stop the warm-up and wait for its thread: it ends after its current query, releasing
        the lock. Waited for, not abandoned: a thread left running would search an engine
        closed under it, or still run native code while the interpreter finalizes."""
        warm_up, self.warm_up = self.warm_up, None
        if warm_up is None:
            return
        warm_up.stop()
        warm_up.join(timeout=WARM_UP_JOIN_S)
        if warm_up.alive:
            log.warning("the search cache warm-up did not stop within %.0f s", WARM_UP_JOIN_S)

    def start_warm_up(self) -> None:
        """Warm the result cache for the served engine (stopping a warm-up of an older one)."""
        self._stop_warm_up()
        cached, limit = self.search.cached, self.settings.search_warm_queries
        if cached is None or limit == 0 or not cached.engine.frequent_queries:
            self.warm_up = None
            return
        every_s = self.settings.search_cache_ttl_minutes * 60.0  # a pass renews what expired
        self.warm_up = SearchWarmUp(
            cached,
            cached.engine.frequent_queries,
            limit=limit,
            every_s=every_s,
            lock=self.settings.home / WARM_LOCK,
        )
        self.warm_up.start()

    def reload_recs(self) -> ComponentReload:
        self.store.reopen()  # a restarted Redis, a moved store URL, a repaired file: try now
        try:
            store = self.store.store()
        except FAILURES as error:
            store = None
            self.errors["recs_store"] = str(error)
        else:
            self.errors.pop("recs_store", None)
        popular = load_popular(self.settings, store)
        if popular.items or not self.recs.popular.items:
            self.recs.popular = self.products.popular = popular
        if store is None:
            self.refuse(_store_refusal(self.errors["recs_store"], self.recs.popular))
        else:
            self.serving_current("recs")
        return ComponentReload(
            ok=store is not None, serving=self.store.current_version(), error=self.errors.get("recs_store")
        )

    def reload(self) -> tuple[ComponentReload, ComponentReload]:
        """Reload search and recs (serialised); also re-reads the experiment file."""
        with self._reload_lock:
            search, recs = self.reload_search(), self.reload_recs()
            self.experiment = load_experiment(self.settings)
            self._publish_model_info()
            gc_freeze.settle()  # the replaced models are collected, the new ones frozen
            return search, recs

    def announce(self, kind: Kind) -> None:
        """This process applied an admin change of ``kind``: the other workers follow it."""
        self.generations.bump(kind)

    async def apply_peer_changes(self, kinds: set[Kind]) -> None:
        """Apply another worker's admin changes: a reload (which re-reads the experiment file
        too) in the threadpool, or only the experiment file."""
        if "models" in kinds:
            await run_in_threadpool(self.reload)
        elif "experiment" in kinds:
            self.experiment = load_experiment(self.settings)

    def close(self) -> None:
        """Stop every thread the state started, users first (the warm-up and the shadow searches
        search the engines), then what they use (the engines' pools, the logs, the buffer)."""
        self._stop_warm_up()
        self.search.close_shadows()
        for engine in (self.search.engine, self.search.challenger):
            if engine is not None:
                engine.close()
        for experiment_log in (self.recs.shadow_log, self.search.shadow_log, self.request_log):
            if experiment_log is not None:
                experiment_log.close()
        self.store.close()
        self.cache.close()
        if self.answers is not None:
            self.answers.close()  # appends what is queued, before the buffer closes
        if self.events is not None:
            self.events.close()

    async def aclose(self) -> None:
        """Close what lives on the event loop (the API's shutdown, after :meth:`close`)."""
        await self.store.aclose()
        if self.recs.sessions is not None:
            await self.recs.sessions.aclose()


def _store_refusal(error: str, popular: PopularList) -> RefusedVersion:
    """The serving store could not be opened or read: the popularity list answers ``/recs``."""
    serving = f"popularity ({popular.source})" if popular.items else None
    return RefusedVersion(component="recs", version=None, reason=error, serving=serving)


def load_state(settings: Settings, metrics: ServiceMetrics | None = None) -> ServingState:
    """Load everything once (see the module docstring); never raises for a missing or broken part."""
    metrics = metrics or build_metrics()
    errors: dict[str, str] = {}
    store = StoreHandle(settings)
    try:
        opened = store.store()
    except FAILURES as error:
        opened, errors["recs_store"] = None, str(error)
    popular = load_popular(settings, opened)
    cache = open_result_cache(settings)
    engine, refusal = load_search_at_startup(settings)
    if refusal is not None and engine is None:
        errors["search"] = refusal.reason
    events: EventBuffer | None
    try:
        events = open_event_buffer(settings)
    except Exception as error:
        events, errors["events"] = None, str(error)
    sessions: SessionHistory | None
    try:
        sessions = open_sessions(settings)
    except Exception as error:  # users the batch has not seen get popularity meanwhile
        sessions, errors["sessions"] = None, str(error)
    shadow_log, request_log = JsonLinesLog(settings.home, SHADOW), JsonLinesLog(settings.home, REQUESTS)
    state = ServingState(
        settings=settings,
        metrics=metrics,
        store=store,
        cache=cache,
        recs=RecsService(store, popular, metrics, sessions, shadow_log=shadow_log, request_log=request_log),
        products=ProductLists(store, popular, metrics),
        search=SearchService(
            None if engine is None else CachedSearch(engine, cache),
            metrics,
            challenger=load_challenger_engine(settings, engine),
            shadow_log=shadow_log,
        ),
        experiment=load_experiment(settings),
        events=events,
        generations=Generations(settings.home),
        errors=errors,
        answers=None if events is None else AnswerLog(events, metrics),
        request_log=request_log,
    )
    if refusal is not None and engine is None:
        state.search.unavailable = (
            f"search index {refusal.version} was refused and no earlier version loads: {refusal.reason}"
        )
    for refused in (refusal, None if opened is not None else _store_refusal(errors["recs_store"], popular)):
        if refused is not None:
            state.refuse(refused)
    state._publish_model_info()
    if engine is not None:
        log.info("search serves %s (%s)", engine.index_version, default_mode(engine))
    state.start_warm_up()
    return state
