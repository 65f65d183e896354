"""The API's threads end before what they use closes, and none outlives the state.

The search cache warm-up searches the served engine from its own thread. A reload that closed
the engine before stopping that thread made its next query fail ("cannot schedule new futures
after shutdown"); a thread left running past the API's shutdown runs native code while the
interpreter finalizes, which aborts the process (``vitrina simulate live`` runs the API in its
own process). The warm-up's query here is held until either its engine closes or the warm-up is
told to stop, so the order decides the outcome deterministically.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import marketplace_engine

from vitrina.adapters.search_cache.cached_search import CachedSearch
from vitrina.config import get_settings
from vitrina.core.search.engine import SearchEngine
from vitrina.serving import state as state_module
from vitrina.serving.search.warmup import SearchWarmUp
from vitrina.serving.state import ServingState, load_state

pytestmark = pytest.mark.unit
QUERIES = ("taladro", "martillo", "bosch")
API_THREADS = ("vitrina-search", "search-answer-log", "experiment-log", "shadow-search")


class Gate:
    """Holds the warm-up's first query until its engine closed or the warm-up was stopped."""

    def __init__(self) -> None:
        self.engine_closed = threading.Event()
        self.stopped = threading.Event()
        self.in_query = threading.Event()
        self.open = threading.Event()

    def wait(self) -> None:
        self.in_query.set()
        while not (self.engine_closed.is_set() or self.stopped.is_set()):
            self.open.wait(0.01)


class GatedSearch(CachedSearch):
    def __init__(self, engine: SearchEngine, cache: object, gate: Gate) -> None:
        super().__init__(engine, cache)  # type: ignore[arg-type]
        self.gate = gate

    def search(self, raw: str, **kwargs: object) -> object:  # type: ignore[override]
        if threading.current_thread().name == "vitrina-search-warmup":
            self.gate.wait()
        return super().search(raw, **kwargs)  # type: ignore[arg-type]


def _engine(gate: Gate) -> SearchEngine:
    engine = marketplace_engine.engine()
    engine.frequent_queries = QUERIES  # what the warm-up runs
    close = engine.close

    def closing() -> None:
        gate.engine_closed.set()
        close()

    engine.close = closing  # type: ignore[method-assign]
    return engine


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    gate = Gate()
    stop = SearchWarmUp.stop

    def stopping(self: SearchWarmUp) -> None:
        gate.stopped.set()
        stop(self)

    monkeypatch.setattr(SearchWarmUp, "stop", stopping)
    return gate


@pytest.fixture
def before() -> set[threading.Thread]:
    """The threads alive before the state loads (other tests' are not this state's)."""
    return set(threading.enumerate())


@pytest.fixture
def serving(
    tmp_path: Path, gate: Gate, before: set[threading.Thread], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServingState]:
    """The API's state on an empty home, serving a small engine whose warm-up is held mid-query."""
    settings = get_settings(home=tmp_path / "home", search_warm_queries=3)
    state = load_state(settings)
    state.search.cached = GatedSearch(_engine(gate), state.cache, gate)
    monkeypatch.setattr(state_module, "CachedSearch", lambda engine, cache: GatedSearch(engine, cache, gate))
    state.start_warm_up()
    assert state.warm_up is not None
    assert gate.in_query.wait(30)
    yield state
    state.close()


def test_a_reload_stops_the_warm_up_before_closing_the_engine_it_searches(
    serving: ServingState, gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = serving.warm_up
    assert old is not None
    monkeypatch.setattr(state_module, "load_engine", lambda settings: _engine(Gate()))

    assert serving.reload_search().ok

    assert not old.alive
    assert old.error is None, old.describe()  # stopped after its query, not failed on a closed engine
    assert old.describe().startswith("stopped in pass 1")


def test_closing_the_state_joins_every_thread_it_started(
    serving: ServingState, before: set[threading.Thread]
) -> None:
    warm_up = serving.warm_up
    assert warm_up is not None

    serving.close()

    assert not warm_up.alive
    assert warm_up.error is None, warm_up.describe()
    alive = [t.name for t in threading.enumerate() if t not in before and t.name.startswith(API_THREADS)]
    assert alive == []
