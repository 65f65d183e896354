"""`train all` takes in the shop's live traffic by itself, and search learns from it.

A served ci home (recs champion, a search index) goes live through the API: three days of
``GET /search`` requests by known shoppers, clicks and purchases posted to ``POST /events`` with
the request id of the answer they came from, and a few views of their own. Nobody runs
``vitrina data ingest``: ``train all`` flushes the buffer (``loop · ingest``), derives the search
logs from the logged answers and the clicks (``loop · search logs``), validates them, and the
search pipeline reads them — its notes and its ledger record count the logs from the shop's own
traffic, the days before the held-out one learnt from. A second run finds the buffer empty and
reuses the derivation: nothing is counted twice.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from support.fixed_calendar import WORLD_END_MIDNIGHT

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.adapters.step_ledger import Ledger
from vitrina.bootstrap import open_event_buffer
from vitrina.config import Settings, get_settings
from vitrina.core.search.semantic.finetune import FinetuneConfig
from vitrina.pipelines.canary_loop import NO_CANARY
from vitrina.pipelines.drift.run import DriftConfig
from vitrina.pipelines.live_intake import BUFFER_EMPTY, NO_CATALOG_SOURCE
from vitrina.pipelines.loop import LoopConfig, LoopRun, run_all
from vitrina.pipelines.recs.run import RecsConfig
from vitrina.pipelines.search.run import SearchConfig
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module
CONFIG = LoopConfig(
    recs=RecsConfig(n_trials=1),
    search=SearchConfig(
        eval_days=1,  # the last live day is held out, the two before it are learnt from
        n_trials=1,
        max_train_searches=400,
        evaluate=False,  # no gate: what is learnt from is under test, not the gate
        finetune=FinetuneConfig(max_examples=64, max_seconds=600, batch_size=32, show_progress=False),
    ),
    drift=DriftConfig(query_sample=0),
)
DAYS = 3
SEARCHES_PER_DAY = 12
K = 10


@dataclass
class Clock:
    """The time the API stamps its search answers with (the live days follow the world's end)."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Traffic:
    """What the shoppers did: per request id the shown list, the clicked and the bought products."""

    shown: dict[str, list[str]] = field(default_factory=dict)
    clicked: dict[str, list[str]] = field(default_factory=dict)
    bought: dict[str, list[str]] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)
    days: dict[str, int] = field(default_factory=dict)


def _column(settings: Settings, query: str) -> list[Any]:
    with Warehouse.from_settings(settings) as warehouse:
        return [next(iter(row.values())) for row in warehouse.sql(query).to_pylist()]


def _event(
    event_id: str, user: str, product: str, kind: str, ts: dt.datetime, **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "user_id": user,
        "product_id": product,
        "event_type": kind,
        "ts": ts.isoformat(),
        "session_id": f"s-{event_id}",
        "device": "mobile",
        **extra,
    }


def _play(settings: Settings) -> Traffic:
    """``DAYS`` days of searches through the API; every other answer gets a click on its
    ``n % K``-th product (and every fourth a purchase of it); plus a home-page view per day."""
    users = _column(settings, "SELECT user_id FROM users ORDER BY user_id LIMIT 40")
    queries = _column(
        settings, "SELECT query FROM search_logs GROUP BY query ORDER BY count(*) DESC, query LIMIT 20"
    )
    traffic, clock = Traffic(), Clock(WORLD_END_MIDNIGHT)
    with TestClient(create_app(settings)) as http:
        answers = http.app.state.serving.answers  # type: ignore[attr-defined]
        answers.clock = clock
        for day in range(DAYS):
            events: list[dict[str, Any]] = []
            for n in range(SEARCHES_PER_DAY):
                clock.now = WORLD_END_MIDNIGHT + dt.timedelta(days=day, hours=9, minutes=5 * n)
                user = str(users[(day * SEARCHES_PER_DAY + n) % len(users)])
                request_id = f"live-{day}-{n:02d}"
                query = str(queries[n % len(queries)])
                answer = http.get(
                    "/search",
                    params={"q": query, "user_id": user, "k": K},
                    headers={"X-Request-ID": request_id},
                )
                assert answer.status_code == 200, answer.text
                shown = [item["product_id"] for item in answer.json()["items"]]
                assert shown, query
                traffic.shown[request_id], traffic.days[request_id] = shown, day
                traffic.clicked[request_id], traffic.bought[request_id] = [], []
                if n % 2:
                    continue
                product, at = shown[n % len(shown)], clock.now + dt.timedelta(seconds=20)
                common = {"page": "search", "request_id": request_id}
                events.append(
                    _event(
                        f"{request_id}-c", user, product, "click", at, position=n % len(shown) + 1, **common
                    )
                )
                traffic.clicked[request_id].append(product)
                if n % 4 == 0:
                    events.append(
                        _event(
                            f"{request_id}-p",
                            user,
                            product,
                            "purchase",
                            at + dt.timedelta(minutes=2),
                            **common,
                        )
                    )
                    traffic.bought[request_id].append(product)
            home_view = clock.now + dt.timedelta(minutes=30)
            events.append(
                _event(
                    f"view-{day}",
                    str(users[0]),
                    traffic.shown[f"live-{day}-00"][0],
                    "view",
                    home_view,
                    page="home",
                )
            )
            posted = http.post("/events", json={"events": events})
            assert posted.status_code == 202, posted.text
            assert posted.json()["accepted"] == len(events)
            traffic.event_ids += [e["event_id"] for e in events]
        assert answers.drain(timeout_s=30)
    return traffic


def _steps(loop: LoopRun) -> dict[tuple[str, str], Any]:
    return {(event.pipeline, event.step): event for event in loop.steps}


def _record(settings: Settings, pipeline: str, step: str) -> dict[str, Any]:
    record = Ledger(settings, pipeline, "-", QUIET).last(step)
    assert record is not None, (pipeline, step)
    return asdict(record)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, served_home: Path) -> tuple[Settings, Traffic]:
    """A copy of the served home after the live traffic (nothing flushed yet)."""
    home = tmp_path_factory.mktemp("live-intake") / "home"
    shutil.copytree(served_home, home)
    settings = get_settings(home=home)
    return settings, _play(settings)


def test_train_all_takes_in_the_live_traffic_and_search_learns_from_it(
    live: tuple[Settings, Traffic],
) -> None:
    settings, traffic = live
    assert (WORLD_END_MIDNIGHT + dt.timedelta(days=DAYS)).date() <= dt.date.today(), "live days in the past"
    n_searches, n_events = DAYS * SEARCHES_PER_DAY, len(traffic.event_ids)
    with open_event_buffer(settings) as buffer:
        assert buffer.pending() == n_searches + n_events  # acknowledged, waiting in the buffer

    loop = run_all(settings, CONFIG, QUIET)

    steps = _steps(loop)
    order = [(e.pipeline, e.step) for e in loop.steps]
    assert order[:5] == [
        ("loop", "catalog"),
        ("loop", "ingest"),
        ("loop", "search logs"),
        ("loop", "validate"),
        ("loop", "canary"),
    ]
    assert (steps["loop", "canary"].outcome, steps["loop", "canary"].detail) == ("skipped", NO_CANARY)
    assert (steps["loop", "catalog"].outcome, steps["loop", "catalog"].detail) == (
        "skipped",
        NO_CATALOG_SOURCE,
    )
    assert steps["loop", "ingest"].outcome == "ran"
    assert steps["loop", "ingest"].detail.startswith(
        f"{n_events} events → raw/events, {n_searches} search answers → raw/search_answers"
    )
    clicked = sum(bool(v) for v in traffic.clicked.values())
    bought = sum(bool(v) for v in traffic.bought.values())
    assert steps["loop", "search logs"].outcome == "ran"
    counts = f"{n_searches} logged answers ({clicked} clicked, {bought} with a purchase)"
    assert steps["loop", "search logs"].detail == f"{n_searches} searches from {counts}"
    assert steps["loop", "validate"].outcome == "ran"
    with open_event_buffer(settings) as buffer:
        assert buffer.pending() == 0

    # the posted events are in the validated lake, once each, with the request id they carried
    with Warehouse.from_settings(settings) as warehouse:
        ids = "', '".join(traffic.event_ids)
        events = warehouse.df(f"SELECT event_id, request_id FROM events WHERE event_id IN ('{ids}')")
        live_ids = "', '".join(traffic.shown)
        logs = warehouse.df(
            "SELECT search_id, results_shown, results_clicked, results_purchased "
            f"FROM search_logs WHERE search_id IN ('{live_ids}')"
        )
    assert sorted(events["event_id"]) == sorted(traffic.event_ids)
    requests = dict(zip(events["event_id"], events["request_id"], strict=True))
    assert all(requests[i] == i.rsplit("-", 1)[0] for i in traffic.event_ids if i.startswith("live-"))
    # one validated search log per answer: what was shown, clicked and bought, in list order
    assert sorted(logs["search_id"]) == sorted(traffic.shown)
    for row in logs.itertuples():
        assert list(row.results_shown) == traffic.shown[row.search_id]
        assert list(row.results_clicked) == traffic.clicked[row.search_id]
        assert list(row.results_purchased) == traffic.bought[row.search_id]

    # the search pipeline read them: the two days before the held-out one were learnt from
    assert loop.search is not None
    learnt = sum(day < DAYS - 1 for day in traffic.days.values())
    assert loop.search.search_logs["live"] == n_searches
    assert loop.search.search_logs["live_learnt"] == learnt == (DAYS - 1) * SEARCHES_PER_DAY
    assert loop.search.search_logs["rows"] > n_searches  # beside the shop's imported logs
    note = f"{n_searches} of {loop.search.search_logs['rows']:,} search logs from the shop's own traffic"
    assert any(
        line.startswith(note) and f"{learnt} of them learnt from" in line for line in loop.search.notes
    )
    assert any(note in line for line in loop.notes())
    train = _record(settings, "search", "train")
    assert train["status"] == "done"
    assert train["outputs"]["search_logs"] == loop.search.search_logs


def test_a_second_run_finds_nothing_new_and_counts_nothing_twice(live: tuple[Settings, Traffic]) -> None:
    settings, traffic = live
    derived = _record(settings, "loop", "search logs")
    with Warehouse.from_settings(settings) as warehouse:
        before = {
            t: warehouse.df(f"SELECT count(*) AS n FROM {t}")["n"][0] for t in ("events", "search_logs")
        }

    loop = run_all(settings, CONFIG, QUIET)

    steps = _steps(loop)
    assert (steps["loop", "ingest"].outcome, steps["loop", "ingest"].detail) == ("skipped", BUFFER_EMPTY)
    assert steps["loop", "search logs"].outcome == "reused"
    assert steps["loop", "validate"].outcome == "reused"
    assert _record(settings, "loop", "search logs") == derived
    with Warehouse.from_settings(settings) as warehouse:
        after = {t: warehouse.df(f"SELECT count(*) AS n FROM {t}")["n"][0] for t in ("events", "search_logs")}
    assert after == before
    assert len(traffic.event_ids) == len(set(traffic.event_ids))
