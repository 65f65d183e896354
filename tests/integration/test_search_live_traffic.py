"""Learning from the shop's own traffic, end to end through the API.

A ci marketplace without any search log goes live: a first index version serves (no
ranker: nothing to learn from). Simulated shoppers (the simulator's online mode) search
through ``GET /search`` for three days and post their clicks and purchases to ``POST
/events`` with the request id of the list they acted on — views are not posted: the
positions come from the API's own log of its answers. The buffer is flushed, ``search_logs``
derived and validated, ``train search`` learns a ranker from them alone, and the next
version beats the previous one on the searches of the last day, which neither learnt from:
more expected clicks per search under the market's click model, and a higher NDCG@10 on the
truth's grades of what each shopper meant. (NDCG@10 judged by the held-out clicks is printed,
not asserted: those clicks could only land on what the previous version showed, which
favours it.)
"""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pytest
from rich.console import Console
from support.fixed_calendar import WORLD_END_MIDNIGHT
from support.live_searches import Clock, LiveSearch, play_searches, without_search_logs

from vitrina.adapters.lake.truth import load_truth
from vitrina.adapters.models.index_versions import current_version
from vitrina.adapters.models.search_index import load_version
from vitrina.bootstrap import open_event_buffer
from vitrina.config import Settings, get_settings
from vitrina.core.evaluation.search_rankings import JudgedQueries, evaluate_rankings, judged_from_logs
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.semantic.finetune import FinetuneConfig
from vitrina.pipelines.ingest_events import flush_events
from vitrina.pipelines.search.live_logs import build_live_search_logs
from vitrina.pipelines.search.logs import log_windows, read_search_logs
from vitrina.pipelines.search.run import SearchConfig, run_search
from vitrina.pipelines.validate import validate_lake
from vitrina.simulator.online import OnlineMarketplace
from vitrina.simulator.truth import query_relevance

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module
CONFIG = SearchConfig(
    evaluate=False,  # no gate: each version is served as built; this test compares them itself
    eval_days=1,
    ranker_days=1,
    n_trials=1,
    max_train_searches=2_000,
    # two steps, whatever the machine's speed: the time bound never cuts them (deterministic)
    finetune=FinetuneConfig(max_examples=64, max_seconds=600, batch_size=32, show_progress=False),
)
DAYS = 3
SEARCHES_PER_DAY = 300
K = 20
SEED = 11


def _truth_judged(settings: Settings, searches: list[LiveSearch], engine: SearchEngine) -> JudgedQueries:
    """The searches judged by the simulator's hidden truth: every product's grade for the
    query the shopper meant (unbiased by what either version showed)."""
    truth = load_truth(settings)
    all_ids = np.asarray(engine.products.product_ids, dtype=object)
    rows_of = engine.products.rows_of
    texts, rows, gains, users = [], [], [], []
    for search in searches:
        grades = query_relevance(truth, np.full(all_ids.size, search.query_id), all_ids).astype(np.float64)
        found = rows_of(all_ids)
        keep = (grades > 0) & (found >= 0)
        texts.append(search.query)
        rows.append(found[keep])
        gains.append(grades[keep])
        users.append(search.user_id)
    return JudgedQueries(texts, ["live"] * len(texts), rows, gains, users)


def _expected_clicks(engine: SearchEngine, market: OnlineMarketplace, searches: list[LiveSearch]) -> float:
    """Mean expected clicks per search of ``engine``'s lists under the market's click model."""
    clicks = []
    for search in searches:
        rows = engine.search(search.query, user_id=search.user_id, k=K).rows
        shown = engine.products.product_ids[rows].tolist()
        clicks.append(market.expected_search_clicks(search.user_id, shown, search.query_id, search.ts))
    return float(np.mean(clicks))


def _ndcg(engine: SearchEngine, judged: JudgedQueries) -> float:
    rankings = [
        engine.search(text, user_id=user, k=K).rows
        for text, user in zip(judged.texts, judged.user_ids, strict=True)
    ]
    return float(evaluate_rankings(judged, rankings, by_type=False)["ndcg@10"])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def live_home(tmp_path_factory: pytest.TempPathFactory, ci_settings: Settings) -> Settings:
    home = tmp_path_factory.mktemp("live-search") / "home"
    shutil.copytree(ci_settings.home, home)
    settings = get_settings(home=home)
    without_search_logs(settings)
    return settings


def test_a_ranker_learnt_from_api_logged_searches_beats_the_previous_version(live_home: Settings) -> None:
    settings = live_home
    last_live_day = (WORLD_END_MIDNIGHT + dt.timedelta(days=DAYS)).date()
    assert last_live_day <= dt.datetime.now(dt.UTC).date(), "the live days must be in the past"
    first = run_search(settings, CONFIG, QUIET)
    assert first.version is not None
    assert current_version(settings) == first.version
    assert any("no search logs" in note for note in first.notes)

    clock = Clock(WORLD_END_MIDNIGHT)
    played = play_searches(settings, clock, days=DAYS, per_day=SEARCHES_PER_DAY, k=K, seed=SEED)

    with open_event_buffer(settings) as buffer:
        flushed = flush_events(settings, buffer)
    assert flushed.answers == DAYS * SEARCHES_PER_DAY
    derived = build_live_search_logs(settings)
    assert derived.counts["searches"] == DAYS * SEARCHES_PER_DAY
    assert derived.counts["with_click"] > 0
    validate_lake(settings, max_invalid_share=0.0)
    logs = read_search_logs(settings)
    assert len(logs) == DAYS * SEARCHES_PER_DAY
    assert set(logs["search_id"]) == {s.request_id for s in played}

    second = run_search(settings, CONFIG, QUIET)
    assert second.version is not None
    assert second.version != first.version
    assert not any("no search logs" in note for note in second.notes)

    windows = log_windows(logs, CONFIG.eval_days, CONFIG.ranker_days)
    assert windows is not None
    held_out_ids = set(logs.loc[logs["ts"] >= windows.t_eval, "search_id"])
    held_out = [s for s in played if s.request_id in held_out_ids]
    assert len(held_out) == SEARCHES_PER_DAY

    versions = {
        "before": load_version(settings, first.version).engine(),
        "after": load_version(settings, second.version).engine(),
    }
    assert versions["before"].ranker is None
    assert versions["after"].ranker is not None
    market = OnlineMarketplace(load_truth(settings), seed=SEED)
    clicks = {name: _expected_clicks(engine, market, held_out) for name, engine in versions.items()}
    ndcg = {
        name: _ndcg(engine, _truth_judged(settings, held_out, engine)) for name, engine in versions.items()
    }
    clicked = logs[logs["search_id"].isin(held_out_ids)]
    logged_ndcg = {
        name: _ndcg(engine, judged_from_logs(clicked, engine.products.rows_of, max_queries=10_000, seed=1))
        for name, engine in versions.items()
    }
    for engine in versions.values():
        engine.close()
    print(
        "held-out live searches:",
        {"expected clicks": clicks, "ndcg@10 truth": ndcg, "ndcg@10 clicks": logged_ndcg},
    )
    # The shop's outcome: more clicks per search on the same searches, the same shoppers.
    assert clicks["after"] > clicks["before"]
    # And the products the shoppers meant rank higher (graded by the simulator's truth).
    assert ndcg["after"] > ndcg["before"]
