"""One simulated day: lists shown, clicks, carts and purchases, as plain arrays.

Flow per request: browse requests get a list from the browse policy; search requests
first pick the target product (30 candidates of the intent category drawn ∝ exposure,
the target drawn ∝ exp(U / 0.5)), then a query is written from it and the lexical policy
answers. Every shown item goes through the click model (:mod:`.clickmodel`). A product is
bought at most once per session. Event times: a click 2–40 s after the list, add-to-cart
10–180 s after the click, purchase 30–600 s after the cart, never past the day's end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vitrina.simulator.common import (
    US_PER_DAY,
    US_PER_SECOND,
    BoolArray,
    FloatArray,
    IntArray,
    gumbel,
    stream,
)
from vitrina.simulator.market import Marketplace
from vitrina.simulator.policy import SEARCH_K, browse_lists
from vitrina.simulator.queries import BRAND_ONLY, N_UNIFORMS, draw_query_types, relevance
from vitrina.simulator.sessions import Requests, draw_requests

TARGET_CANDIDATES = 30
TARGET_TEMPERATURE = 0.5
VIEW, CLICK, CART, PURCHASE = range(4)


@dataclass(frozen=True)
class Searches:
    """The day's searches (rows align with ``requests.is_search`` rows in order)."""

    request: IntArray
    target: IntArray
    query_type: IntArray
    queries: list[str]
    shown: IntArray
    clicked: BoolArray
    purchased: BoolArray


@dataclass(frozen=True)
class DayLog:
    """Everything that happened on one day, as row-aligned arrays."""

    day: int
    requests: Requests
    searches: Searches
    ev_request: IntArray
    ev_product: IntArray
    ev_type: IntArray
    ev_ts: IntArray
    ev_position: IntArray
    ev_page: IntArray
    tx_event: IntArray
    tx_quantity: IntArray
    tx_discount: FloatArray
    tx_amount: FloatArray
    tx_payment: IntArray


def pick_targets(
    m: Marketplace,
    rng: np.random.Generator,
    exposure: FloatArray,
    user: IntArray,
    intent: IntArray,
    t: FloatArray,
) -> IntArray:
    """The product each searching user wants: drawn ∝ exp(U / 0.5) among 30 listed candidates
    of the intent category (any listed product when the category has none yet)."""
    cands = m.by_l2.sample(rng, exposure, intent, TARGET_CANDIDATES)
    fallback = rng.choice(exposure.size, cands.shape, p=exposure / exposure.sum())
    cands = np.where((cands >= 0).any(axis=1, keepdims=True), cands, fallback)
    flat_u = np.repeat(user, TARGET_CANDIDATES)
    flat_t = np.repeat(t, TARGET_CANDIDATES)
    utility = m.world.utility(flat_u, np.maximum(cands, 0).ravel(), flat_t).reshape(cands.shape)
    score = np.where(cands >= 0, utility / TARGET_TEMPERATURE + gumbel(rng, cands.shape), -np.inf)
    return np.take_along_axis(cands, np.argmax(score, axis=1)[:, None], axis=1)[:, 0]


def simulate_day(m: Marketplace, day: int) -> DayLog:
    """Simulate ``day`` (0 = first day of the window) from its own random stream."""
    rng = stream(m.seed, "day", day)
    req = draw_requests(m, day, rng)
    day_start = m.start_us + day * US_PER_DAY
    t_req = day + (req.ts_us - day_start) / US_PER_DAY
    exposure = m.exposure(day + 0.5)
    in_stock = m.catalog.stock > 0

    # lists shown: browse rows (n_b, 10) and search rows (n_s, 20), padded with -1
    browse = np.flatnonzero(~req.is_search)
    lists_b = browse_lists(rng, m.by_l2, m.catalog.l2, exposure * in_stock, req.intent[browse])
    search = np.flatnonzero(req.is_search)
    target = pick_targets(m, rng, exposure, req.user[search], req.intent[search], t_req[search])
    kind = draw_query_types(rng, search.size)
    noise = rng.random((search.size, N_UNIFORMS))
    texts = [m.queries.make(int(p), int(k), u) for p, k, u in zip(target, kind, noise, strict=True)]
    lists_s = m.lexical.search(rng, exposure, m.lexical.encode(texts))

    # impressions, row-major: request then position
    rows = np.concatenate([np.repeat(browse, lists_b.shape[1]), np.repeat(search, SEARCH_K)])
    product = np.concatenate([lists_b.ravel(), lists_s.ravel()])
    position = np.concatenate(
        [
            np.tile(np.arange(1, lists_b.shape[1] + 1), browse.size),
            np.tile(np.arange(1, SEARCH_K + 1), search.size),
        ]
    )
    search_row = np.concatenate([np.full(lists_b.size, -1), np.repeat(np.arange(search.size), SEARCH_K)])
    keep = product >= 0
    rows, product, position, search_row = rows[keep], product[keep], position[keep], search_row[keep]
    order = np.lexsort((position, rows))
    rows, product, position, search_row = rows[order], product[order], position[order], search_row[order]

    t_imp = t_req[rows]
    is_search = search_row >= 0
    grade = np.zeros(product.size, dtype=np.int64)
    srow = search_row[is_search]
    grade[is_search] = relevance(m.catalog, target[srow], product[is_search], kind[srow] == BRAND_ONLY)
    price = m.catalog.base_price[product] * m.world.price_factor(product, t_imp)
    clicked, carted, bought = m.click_model.sample(
        rng.random((product.size, 3)), position, m.world.utility(req.user[rows], product, t_imp),
        grade, is_search, price, in_stock[product],
    )  # fmt: skip
    # at most one purchase of a product per session
    session_product = req.session[rows] * m.catalog.n + product
    bought_idx = np.flatnonzero(bought)
    _, first = np.unique(session_product[bought_idx], return_index=True)
    bought = np.zeros_like(bought)
    bought[bought_idx[first]] = True

    day_end = day_start + US_PER_DAY - 1
    t_view = req.ts_us[rows]
    t_click = np.minimum(
        t_view + (rng.uniform(2, 40, product.size) * US_PER_SECOND).astype(np.int64), day_end
    )
    t_cart = np.minimum(
        t_click + (rng.uniform(10, 180, product.size) * US_PER_SECOND).astype(np.int64), day_end
    )
    t_buy = np.minimum(
        t_cart + (rng.uniform(30, 600, product.size) * US_PER_SECOND).astype(np.int64), day_end
    )

    parts = [np.ones(product.size, bool), clicked, carted, bought]
    times = [t_view, t_click, t_cart, t_buy]
    ev_imp = np.concatenate([np.flatnonzero(p) for p in parts])
    ev_type = np.concatenate([np.full(int(p.sum()), code) for code, p in enumerate(parts)])
    ev_ts = np.concatenate([tt[p] for tt, p in zip(times, parts, strict=True)])
    order = np.lexsort((ev_type, ev_ts))
    ev_imp, ev_type, ev_ts = ev_imp[order], ev_type[order], ev_ts[order]
    page_of_list = req.page[rows[ev_imp]]
    ev_page = np.select([ev_type == CART, ev_type == PURCHASE], [2, 4], page_of_list)  # pdp, cart
    ev_position = np.where(ev_type <= CLICK, position[ev_imp], 0)

    # transactions, one line per purchase event
    tx_event = np.flatnonzero(ev_type == PURCHASE)
    tx_product = product[ev_imp[tx_event]]
    grocery = m.catalog.l1[tx_product] == m.taxonomy.l1_names.index("Supermercado")
    quantity = np.where(
        grocery, np.minimum(rng.geometric(0.45, tx_event.size), 6), 1 + (rng.random(tx_event.size) < 0.05)
    )
    discount = rng.choice(
        np.array([0.0, 5.0, 10.0, 15.0, 20.0, 30.0]), tx_event.size, p=[0.55, 0.12, 0.12, 0.09, 0.07, 0.05]
    )
    unit = price[ev_imp[tx_event]]
    amount = np.round(unit * quantity * (1 - discount / 100.0), 2)
    tx_user = req.user[rows[ev_imp[tx_event]]]
    payment = np.where(
        rng.random(tx_event.size) < 0.85, m.users.payment[tx_user], rng.integers(0, 5, tx_event.size)
    )

    # per-search outcome masks aligned with the shown lists
    shown = lists_s
    clicked_mask = np.zeros(shown.shape, dtype=bool)
    bought_mask = np.zeros(shown.shape, dtype=bool)
    hit = is_search & clicked
    clicked_mask[search_row[hit], position[hit] - 1] = True
    hit = is_search & bought
    bought_mask[search_row[hit], position[hit] - 1] = True
    searches = Searches(search, target, kind, texts, shown, clicked_mask, bought_mask)
    return DayLog(
        day=day, requests=req, searches=searches,
        ev_request=rows[ev_imp], ev_product=product[ev_imp], ev_type=ev_type, ev_ts=ev_ts,
        ev_position=ev_position, ev_page=ev_page,
        tx_event=tx_event, tx_quantity=quantity.astype(np.int64), tx_discount=discount,
        tx_amount=amount, tx_payment=payment.astype(np.int64),
    )  # fmt: skip
