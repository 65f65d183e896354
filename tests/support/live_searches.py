"""Simulated shoppers searching through the API for a few days: the shop's own search traffic.

Each search goes through ``GET /search`` with a request id, at the simulated time ``clock``
stamps on the API's logged answer; the market's clicks, add-to-carts and purchases on the list
it answered are posted back to ``POST /events`` carrying that request id (views are not
posted: the positions come from the API's own log of its answers).
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from support.fixed_calendar import WORLD_END_MIDNIGHT
from vitrina.adapters.lake.truth import load_truth
from vitrina.cli.experiment import load_population
from vitrina.config import Settings
from vitrina.core.evaluation.search_rankings import JudgedQueries, evaluate_rankings
from vitrina.core.search.engine import SearchEngine
from vitrina.serving.api_client import ApiClient
from vitrina.serving.app import create_app
from vitrina.simulator.online import OnlineMarketplace
from vitrina.simulator.truth import query_relevance

ACTED = ("click", "add_to_cart", "purchase")


@dataclass
class Clock:
    """The simulated time the API stamps its answers with."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass(frozen=True)
class LiveSearch:
    request_id: str
    user_id: str
    query: str
    query_id: str
    ts: dt.datetime


def play_searches(
    settings: Settings, clock: Clock, *, days: int, per_day: int, k: int, seed: int
) -> list[LiveSearch]:
    """``days`` days of ``per_day`` searches from the end of the generated world on (the
    simulator's queries, weighted by how often they are searched), through the API."""
    truth = load_truth(settings)
    market = OnlineMarketplace(truth, seed=seed)
    rng = np.random.default_rng(seed)
    queries = truth.queries
    weights = queries["n_searches"].to_numpy(dtype=np.float64).clip(min=1.0)
    user_ids = np.asarray(load_population(settings).users, dtype=object)
    played: list[LiveSearch] = []
    with TestClient(create_app(settings)) as http:
        answers = http.app.state.serving.answers  # type: ignore[attr-defined]
        answers.clock = clock
        api = ApiClient(http)
        for day in range(days):
            start = WORLD_END_MIDNIGHT + dt.timedelta(days=day, hours=8)
            picks = rng.choice(len(queries), size=per_day, p=weights / weights.sum())
            people = rng.choice(user_ids, size=per_day)
            pending: list[dict[str, object]] = []
            for n, (pick, user) in enumerate(zip(picks, people, strict=True)):
                clock.now = start + dt.timedelta(seconds=40 * n)
                query, query_id = str(queries["query"].iloc[pick]), str(queries["query_id"].iloc[pick])
                request_id = f"live-{day}-{n:05d}"
                served = api.search(query, user_id=str(user), k=k, request_id=request_id)
                context = {
                    "page": "search",
                    "query": query,
                    "query_id": query_id,
                    "ts": clock.now,
                    "session_id": f"ses-{day}-{n:05d}",
                    "request_id": request_id,
                }
                events = market.respond(str(user), served.product_ids, context)
                pending += [
                    {**e, "event_id": f"live-{e['event_id']}", "ts": e["ts"].isoformat()}
                    for e in events
                    if e["event_type"] in ACTED
                ]
                played.append(LiveSearch(request_id, str(user), query, query_id, clock.now))
            for first in range(0, len(pending), 500):
                api.post_events(pending[first : first + 500])
        assert answers.drain(timeout_s=30)
    return played


def without_search_logs(settings: Settings) -> None:
    """Remove every search log of the home: a shop that has not searched yet."""
    for layer in ("raw", "validated"):
        shutil.rmtree(Path(settings.lake) / layer / "search_logs", ignore_errors=True)


def truth_ndcg(settings: Settings, searches: list[LiveSearch], engine: SearchEngine, k: int) -> float:
    """NDCG@10 of ``engine``'s lists for ``searches``, graded by the simulator's hidden truth
    (every product's grade for the query the shopper meant: unbiased by what any version showed)."""
    truth = load_truth(settings)
    all_ids = np.asarray(engine.products.product_ids, dtype=object)
    found = engine.products.rows_of(all_ids)
    texts, rows, gains = [], [], []
    users: list[str | None] = []
    for search in searches:
        grades = query_relevance(truth, np.full(all_ids.size, search.query_id), all_ids).astype(np.float64)
        keep = (grades > 0) & (found >= 0)
        texts.append(search.query)
        rows.append(found[keep])
        gains.append(grades[keep])
        users.append(search.user_id)
    judged = JudgedQueries(texts, ["live"] * len(texts), rows, gains, users)
    rankings = [engine.search(s.query, user_id=s.user_id, k=k).rows for s in searches]
    return float(evaluate_rankings(judged, rankings, by_type=False)["ndcg@10"])  # type: ignore[arg-type]


def expected_clicks(
    settings: Settings, engine: SearchEngine, searches: list[LiveSearch], k: int, seed: int
) -> float:
    """Mean expected clicks per search of ``engine``'s lists under the market's click model."""
    market = OnlineMarketplace(load_truth(settings), seed=seed)
    clicks = []
    for search in searches:
        shown = engine.products.product_ids[engine.search(search.query, user_id=search.user_id, k=k).rows]
        clicks.append(
            market.expected_search_clicks(search.user_id, shown.tolist(), search.query_id, search.ts)
        )
    return float(np.mean(clicks))
