"""``GET /search``: the served engine behind the result cache, with the experiment's arm.

The champion arm answers through
:class:`~vitrina.adapters.search_cache.cached_search.CachedSearch` (the engine's
default mode); the challenger arm ranks the same retrieval in the experiment's mode,
uncached, or — challenger ``registered`` — asks the registered challenger's own index version,
loaded beside the champion's (:attr:`SearchService.challenger`), in its served mode. In
shadow mode the champion is shown and the challenger's answer is computed on a background
thread (at most :data:`MAX_SHADOW_PENDING` waiting; more are skipped, never queued on the
request) and compared with it in the shadow log. In an
interleaving experiment the challenger arm sees one team-draft list of both rankings, each item
labelled with its team — two modes of the served index, or (challenger ``registered``) the
champion's and the challenger's index versions, drafted by product id
(:mod:`vitrina.serving.search.version_interleave`); the draft's coin is seeded by (salt, user,
query, request id), so a logged request can be replayed exactly.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from vitrina.adapters.experiment_logs import JsonLinesLog
from vitrina.adapters.prometheus.instruments import ServiceMetrics
from vitrina.adapters.search_cache.cached_search import CachedSearch
from vitrina.core.experiments.assignment import hash_unit
from vitrina.core.experiments.interleaving import team_draft
from vitrina.core.experiments.shadow import compare_lists
from vitrina.core.search.engine import Mode, Ranked, SearchEngine
from vitrina.serving.api_models import SearchItem, SearchResponse
from vitrina.serving.experiment_config import CHALLENGER, CHAMPION, REGISTERED, SearchExperiment
from vitrina.serving.search.shown_items import shown_item
from vitrina.serving.search.version_interleave import interleave_versions

log = logging.getLogger(__name__)
MAX_SHADOW_PENDING = 64
MISSING = "challenger-missing"
"""Suffix of the mode of a challenger-arm answer the champion gave because no challenger
index is loaded (a degraded answer to the canary's guardrail of that name)."""


class SearchUnavailableError(RuntimeError):
    """No index version is loaded (none built yet, or none could be loaded)."""


def default_mode(engine: SearchEngine) -> str:
    """The champion arm's mode: the index version's served mode (see :attr:`SearchEngine.default_mode`)."""
    return engine.default_mode


def mode_of(experiment: SearchExperiment, engine: SearchEngine) -> Mode:
    """The ranking mode the experiment's challenger names (``registered``: ``engine``'s own)."""
    challenger = experiment.challenger
    if challenger == REGISTERED:
        return engine.default_mode
    return challenger


def verify_engine(engine: SearchEngine) -> None:
    """Smoke-test a freshly loaded engine before it may serve: a servable product's exact
    title must come back with results. Raises ``ValueError`` when it does not."""
    frame = engine.products.frame
    servable = np.flatnonzero(engine.products.servable)
    if servable.size == 0:
        raise ValueError(f"index {engine.index_version} has no servable product")
    title = str(frame["title"].iloc[int(servable[0])])
    ranked = engine.search(title, k=5)
    if ranked.rows.size == 0 or not np.all((ranked.rows >= 0) & (ranked.rows < len(frame))):
        raise ValueError(f"index {engine.index_version} returned no valid result for the title {title!r}")


@dataclass
class SearchService:
    """The loaded engine (None: no index) and the cached front of it."""

    cached: CachedSearch | None
    metrics: ServiceMetrics
    unavailable: str | None = None  # why no engine serves, when an index exists but was refused
    challenger: SearchEngine | None = None
    """The registered challenger's index version, loaded beside the champion's (None: none)."""
    shadow_log: JsonLinesLog | None = None
    _shadow_pool: ThreadPoolExecutor | None = field(default=None, repr=False)
    _shadow_pending: int = 0
    _shadow_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def engine(self) -> SearchEngine | None:
        return None if self.cached is None else self.cached.engine

    def _items(
        self, engine: SearchEngine, ranked: Ranked, teams: tuple[str, ...] | None = None
    ) -> list[SearchItem]:
        labels = teams if teams is not None else (None,) * ranked.rows.size
        return [
            shown_item(engine, row, score, team)
            for row, score, team in zip(ranked.rows.tolist(), ranked.scores.tolist(), labels, strict=True)
        ]

    @staticmethod
    def _interleave(
        champion: Ranked, challenger: Ranked, k: int, seed: int
    ) -> tuple[Ranked, tuple[str, ...]]:
        """Team-draft of the two rankings (champion = team A); each item keeps its own score."""
        drafted = team_draft(champion.rows.tolist(), challenger.rows.tolist(), k, seed)
        scores = {
            **dict(zip(challenger.rows.tolist(), challenger.scores.tolist(), strict=True)),
            **dict(zip(champion.rows.tolist(), champion.scores.tolist(), strict=True)),
        }
        rows = np.asarray(drafted.items, dtype=champion.rows.dtype)
        values = np.asarray([scores[row] for row in drafted.items], dtype=champion.scores.dtype)
        ranked = replace(champion, rows=rows, scores=values, explanations=[])
        return ranked, tuple(CHAMPION if team == 0 else CHALLENGER for team in drafted.teams)

    def search(
        self, *, q: str, user_id: str | None, k: int, request_id: str, experiment: SearchExperiment
    ) -> SearchResponse:
        if self.cached is None:
            raise SearchUnavailableError(
                self.unavailable
                or "no search index is loaded: run `vitrina train search`, then POST /admin/reload"
            )
        engine = self.cached.engine
        assigned = experiment.arm(user_id)
        shadow = experiment.shadow and assigned == CHALLENGER
        arm = CHAMPION if shadow else assigned
        name = experiment.name if experiment.enabled else None
        if name is not None:
            self.metrics.experiment_exposures.labels(experiment=name, arm=arm).inc()
        mode: str
        teams: tuple[str, ...] | None = None
        items: list[SearchItem] | None = None
        if arm == CHALLENGER and experiment.challenger == REGISTERED and self.challenger is None:
            mode = f"{default_mode(engine)}:{MISSING}"
            log.warning("no challenger index loaded: the champion answers the challenger arm")
            answer = self.cached.search(q, user_id=user_id, k=k)
            ranked, cached = answer.ranked, answer.cached
        elif (
            arm == CHALLENGER
            and experiment.kind == "interleave"
            and experiment.challenger == REGISTERED
            and self.challenger is not None
        ):
            other_engine = self.challenger  # the registered challenger's own index version
            mode = f"interleave:{default_mode(engine)}+{REGISTERED}:{other_engine.index_version}"
            ranked = self.cached.search(q, user_id=user_id, k=k).ranked
            other = other_engine.search(q, user_id=user_id, k=k)
            seed = int(hash_unit(experiment.salt, f"{user_id}\x1f{q}\x1f{request_id}") * 2**62)
            items, cached = interleave_versions(engine, ranked, other_engine, other, k, seed), False
        elif arm == CHALLENGER and experiment.kind == "interleave":
            mode = f"interleave:{default_mode(engine)}+{experiment.challenger}"
            champion = self.cached.search(q, user_id=user_id, k=k).ranked
            other = engine.search(q, user_id=user_id, k=k, mode=mode_of(experiment, engine))
            seed = int(hash_unit(experiment.salt, f"{user_id}\x1f{q}\x1f{request_id}") * 2**62)
            (ranked, teams), cached = self._interleave(champion, other, k, seed), False
        elif arm == CHALLENGER and experiment.challenger == REGISTERED and self.challenger is not None:
            engine = self.challenger  # the challenger's own index answers, in its served mode
            mode = default_mode(engine)
            ranked, cached = engine.search(q, user_id=user_id, k=k), False
        elif arm == CHALLENGER:
            mode = experiment.challenger
            ranked, cached = engine.search(q, user_id=user_id, k=k, mode=mode_of(experiment, engine)), False
        else:
            mode = default_mode(engine)
            started = time.perf_counter()
            answer = self.cached.search(q, user_id=user_id, k=k)
            ranked, cached = answer.ranked, answer.cached
            self.metrics.cache_requests.labels(cache="search", result="hit" if cached else "miss").inc()
            if shadow:
                shown = engine.products.frame["product_id"].iloc[ranked.rows].astype(str).tolist()
                self._submit_shadow(
                    q, user_id, k, request_id, experiment, shown, time.perf_counter() - started
                )
        if ranked.rows.size == 0:
            self.metrics.search_zero_results.labels(mode=mode).inc()
        return SearchResponse(
            request_id=request_id,
            model_version=engine.model_version,
            arm=arm,
            experiment=name,
            query=q,
            normalised=ranked.query.normalised,
            corrected=ranked.query.corrected,
            index_version=engine.index_version,
            mode=mode,
            cached=cached,
            n_candidates=ranked.n_candidates,
            items=items if items is not None else self._items(engine, ranked, teams),
        )

    def _submit_shadow(
        self,
        q: str,
        user_id: str | None,
        k: int,
        request_id: str,
        experiment: SearchExperiment,
        shown: list[str],
        champion_s: float,
    ) -> None:
        """Queue the challenger's answer to a shadowed search on the background thread;
        skipped (logged at debug) while :data:`MAX_SHADOW_PENDING` wait already."""
        with self._shadow_lock:
            if self._shadow_pending >= MAX_SHADOW_PENDING:
                log.debug("shadow search skipped: %d pending", self._shadow_pending)
                return
            self._shadow_pending += 1
            if self._shadow_pool is None:
                self._shadow_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow-search")
            pool = self._shadow_pool
        pool.submit(self._shadow, q, user_id, k, request_id, experiment, shown, champion_s)

    def _shadow(
        self,
        q: str,
        user_id: str | None,
        k: int,
        request_id: str,
        experiment: SearchExperiment,
        shown: list[str],
        champion_s: float,
    ) -> None:
        try:
            engine = self.challenger if experiment.challenger == REGISTERED else self.engine
            if engine is None:
                log.warning("shadow search: no challenger index loaded")
                return
            started = time.perf_counter()
            hidden = engine.search(q, user_id=user_id, k=k, mode=mode_of(experiment, engine))
            challenger_ms = (time.perf_counter() - started) * 1000
            ids = engine.products.frame["product_id"].iloc[hidden.rows].astype(str).tolist()
            comparison = compare_lists(
                shown,
                ids,
                hidden.scores.tolist(),
                k,
                champion_ms=champion_s * 1000,
                challenger_ms=challenger_ms,
            )
            row = {
                "surface": "search",
                "experiment": experiment.name,
                "challenger": experiment.challenger,
                "challenger_model": f"{engine.model_version}@{engine.index_version}",
                "user_id": user_id,
                "request_id": request_id,
                "query": q,
                "challenger_items": len(ids),
                **comparison.to_dict(),
            }
            if self.shadow_log is not None:
                self.shadow_log.record(row)
            else:
                log.info("shadow search", extra=row)
        except Exception:
            log.exception("shadow search comparison failed", extra={"query": q})
        finally:
            with self._shadow_lock:
                self._shadow_pending -= 1

    def wait_for_shadows(self) -> None:
        """Block until every queued shadow comparison ran (tests, shutdown)."""
        with self._shadow_lock:
            pool = self._shadow_pool
        if pool is not None:
            pool.submit(lambda: None).result()

    def close_shadows(self) -> None:
        with self._shadow_lock:
            pool, self._shadow_pool = self._shadow_pool, None
        if pool is not None:
            pool.shutdown(wait=True)
