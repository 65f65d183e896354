"""The live shop's sessions have the batch generator's mix: an unchanged world shows no drift.

The generated data's sessions (:func:`vitrina.simulator.sessions.draw_requests`) and the live
shop's visits (:meth:`SimulatedShop.visits`) are drawn on one ci marketplace; the monitored
session columns (entry page, device, pages per session) and the search answers' size must
agree within a PSI far below the drift thresholds, and no session may start on a recs page.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from vitrina.adapters.lake.truth import Truth
from vitrina.core.drift.statistics import psi_from_counts
from vitrina.core.tables import DEVICES, PAGES
from vitrina.simulator.common import format_ids, stream
from vitrina.simulator.live_shop import SimulatedShop
from vitrina.simulator.market import Marketplace, build_marketplace
from vitrina.simulator.policy import BROWSE_K, SEARCH_K
from vitrina.simulator.scales import get_scale
from vitrina.simulator.sessions import draw_requests

pytestmark = pytest.mark.unit

SEED = 11
END = dt.date(2026, 3, 1)
DAYS = range(14, 21)


@pytest.fixture(scope="module")
def market() -> Marketplace:
    return build_marketplace(get_scale("ci"), SEED, END, None)


def _shop(m: Marketplace) -> SimulatedShop:
    """A live shop over ``m``'s users, without a lake: only what :meth:`visits` reads."""
    shop = object.__new__(SimulatedShop)
    n_queries = 40
    l2 = m.catalog.l2[:n_queries]
    truth = Truth(
        meta={"start_date": m.start_date.isoformat(), "end_date": END.isoformat(), "scale": "ci"},
        world=m.world,
        products=SimpleNamespace(l2=m.catalog.l2, leaf=m.catalog.leaf, stock=m.catalog.stock),  # type: ignore[arg-type]
        user_signup_day=m.users.signup_day,
        queries=pd.DataFrame(),
        search_queries=pd.DataFrame(),
        qrels=pd.DataFrame(),
        drift=None,
    )
    shop.market = SimpleNamespace(truth=truth)  # type: ignore[assignment]
    shop.seed = SEED
    shop.start = m.start_date
    shop.sessions_per_day = get_scale("ci").sessions_per_day
    shop.new_product_search_share = 0.15
    shop.fresh = {}
    shop.customers = [str(u) for u in format_ids("u", np.arange(m.users.n), 7)]
    shop._city = m.users.city
    shop._device = m.users.device
    shop._query_text = np.array([f"q{i}" for i in range(n_queries)])
    shop._query_id = np.array([f"id{i}" for i in range(n_queries)])
    shop._query_weight = np.ones(n_queries)
    shop._query_l2 = l2
    shop._queries_of_l2 = {int(c): np.flatnonzero(l2 == c) for c in np.unique(l2)}
    return shop


def _generated(m: Marketplace) -> dict[str, Counter[Any]]:
    out: dict[str, Counter[Any]] = {"entry": Counter(), "device": Counter(), "pages": Counter()}
    for day in DAYS:
        req = draw_requests(m, day, stream(SEED, "day", day))
        first = np.r_[True, req.session[1:] != req.session[:-1]]
        out["entry"].update(PAGES[int(p)] for p in req.page[first])
        out["device"].update(DEVICES[int(d)] for d in req.device[first])
        out["pages"].update(np.bincount(req.session).tolist())
    return out


def _live(shop: SimulatedShop) -> tuple[dict[str, Counter[Any]], list[dict[str, Any]]]:
    out: dict[str, Counter[Any]] = {"entry": Counter(), "device": Counter(), "pages": Counter()}
    visits = [v for day in DAYS for v in shop.visits(day - DAYS[0])]
    sessions: dict[str, list[dict[str, Any]]] = {}
    for visit in visits:
        sessions.setdefault(visit["session_id"], []).append(visit)
    for pages in sessions.values():
        out["entry"][pages[0]["page"]] += 1
        out["device"][pages[0]["device"]] += 1
        out["pages"][len(pages)] += 1
    return out, visits


def _psi(a: Counter[Any], b: Counter[Any]) -> float:
    keys = sorted(set(a) | set(b), key=str)
    return psi_from_counts([a[k] for k in keys], [b[k] for k in keys])


def test_live_sessions_have_the_generated_entry_page_device_and_length(market: Marketplace) -> None:
    generated = _generated(market)
    live, _ = _live(_shop(market))
    assert live["entry"]["recs"] == 0
    assert generated["entry"]["recs"] == 0
    for column in ("entry", "device", "pages"):
        assert _psi(generated[column], live[column]) < 0.02, (column, generated[column], live[column])
    n_generated, n_live = sum(generated["pages"].values()), sum(live["pages"].values())
    assert abs(n_live / n_generated - 1) < 0.15, (n_generated, n_live)


def test_live_pages_ask_for_the_generated_list_sizes_in_time_order(market: Marketplace) -> None:
    shop = _shop(market)
    visits = shop.visits(0)
    assert visits == shop.visits(0)  # one generator per day: a seed replays the day
    assert [v["ts"] for v in visits] == sorted(v["ts"] for v in visits)
    sizes = {v["page"]: v["k"] for v in visits}
    assert sizes == {"home": BROWSE_K, "recs": BROWSE_K, "search": SEARCH_K}
    for session in {v["session_id"] for v in visits}:
        pages = [v for v in visits if v["session_id"] == session]
        assert len({v["device"] for v in pages}) == 1
        searches = [v for v in pages if v["page"] == "search"]
        assert len({shop._query_l2[int(v["query_id"][2:])] for v in searches}) <= 1


def test_a_customer_s_main_device_is_the_one_most_of_their_sessions_used(market: Marketplace) -> None:
    shop = _shop(market)
    counts = pd.DataFrame(
        {
            "user_id": ["u0000001", "u0000001", "u0000002"],
            "device": ["app", "mobile", "tablet"],
            "n": [5, 2, 1],
        }
    )
    device = shop._main_devices(counts)
    assert device.size == market.users.n
    assert (DEVICES[int(device[1])], DEVICES[int(device[2])]) == ("app", "tablet")
    assert np.array_equal(device, shop._main_devices(counts))  # the others: drawn from a fixed seed


def test_the_best_list_is_the_user_s_top_in_stock_products(market: Marketplace) -> None:
    shop = _shop(market)
    at = dt.datetime.combine(END, dt.time(12), dt.UTC)
    t = float((at - dt.datetime.combine(market.start_date, dt.time(), dt.UTC)) / dt.timedelta(days=1))
    stock = shop.truth.products.stock
    utility = market.world.utility(np.full(stock.size, 4), np.arange(stock.size), t)
    top = np.sort(utility[stock > 0])[-10:]
    assert shop.best_utility("u0000004", 10, at) == pytest.approx(float(top.mean()))
    served = [str(p) for p in format_ids("p", np.argsort(utility)[:10], 7)]
    assert shop.utility("u0000004", served, at) < shop.best_utility("u0000004", 10, at)


def test_a_late_session_s_events_stay_in_its_day(market: Marketplace) -> None:
    shop = _shop(market)
    late = dt.datetime(2026, 3, 2, 23, 58, tzinfo=dt.UTC)
    answered = [
        {"event_type": "view", "ts": late},
        {"event_type": "purchase", "ts": late + dt.timedelta(minutes=9)},
    ]
    shop.market = SimpleNamespace(truth=shop.truth, respond=lambda user, shown, context: answered)  # type: ignore[assignment]
    events = shop.respond("u0000001", ["p0000001"], {"ts": late})
    assert events[0]["ts"] == late
    assert events[1]["ts"] == dt.datetime(2026, 3, 3, tzinfo=dt.UTC) - dt.timedelta(microseconds=1)
