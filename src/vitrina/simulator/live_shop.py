"""The simulator as a live shop: a world that grows every day, and shoppers that answer lists.

``vitrina simulate live`` plays it against the API (:mod:`vitrina.pipelines.live_simulation`
drives it through the :class:`~vitrina.pipelines.live_simulation.protocol.LiveShop` protocol;
the pipelines never import the simulator). Each simulated day:

* **arrivals** — new products, each a new edition of an existing one (same leaf, brand and
  price level; its latent vector the original's plus noise, quality re-drawn around the
  original's), and new customers (latents of an existing customer plus noise, signing up
  that day). Their catalog and users rows are what the shop would drop into ``raw/``; the
  truth grows with them so the online market can answer for them. Some products go out of
  stock (catalog rows with ``stock = 0``; the truth stops selling them).
* **drift** — from the drift day on, the scenario of :mod:`.scenarios` switches on in the
  truth (a category's utility and intent jump for ``new_trend``): shoppers' searches lean to
  the favoured categories (the intent shift) and their clicks follow the new utility.
* **visits** — the day's sessions, drawn by the batch generator's own functions
  (:mod:`.sessions`): how many (the generated data's sessions per day × the weekly and payday
  cycle), when (the local-hour profile of the customer's city), on which device (the
  customer's main one — the one most of their sessions used in the lake — or any), and their
  shape: a browse session is a home page then recs pages, a search session one to three
  searches, each list as long as the generator's (:data:`~.policy.BROWSE_K`,
  :data:`~.policy.SEARCH_K`). So an unchanged world shows no drift between the generated
  data and the live traffic. Customers: known and new ones, uniformly (the generator's
  activity weights are not in the truth). A search session's first query is one of the
  truth's queries (weighted by traffic × intent) or, for a share of them, a product that
  arrived in the last days by its noun and brand; its next searches stay in that category.

Deterministic for a seed: one generator per day, the calls in a fixed order.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd

from vitrina.adapters.lake.truth import (
    PRODUCT_FACTS,
    PRODUCT_ID,
    USER_ID,
    Truth,
    to_days,
    truth_url,
)
from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem, write_bytes_atomic
from vitrina.core.tables import DEVICES, PAGES
from vitrina.simulator.catalog import Catalog
from vitrina.simulator.common import US_PER_DAY, datetime_to_us, format_ids, us_to_datetime
from vitrina.simulator.editions import appended, new_editions
from vitrina.simulator.online import OnlineMarketplace
from vitrina.simulator.policy import BROWSE_K, SEARCH_K
from vitrina.simulator.scales import get_scale
from vitrina.simulator.scenarios import apply_drift, plan_drift
from vitrina.simulator.search_judge import TruthSearchJudge
from vitrina.simulator.sessions import (
    PAGE_SEARCH,
    day_factor,
    draw_devices,
    draw_shapes,
    expand_pages,
    session_starts,
)
from vitrina.simulator.taxonomy import build_taxonomy
from vitrina.simulator.users import CITY_OFFSETS, DEVICE_SHARES

USER_NOISE = 0.3


class SimulatedShop:
    """The growing world and its shoppers (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        seed: int,
        *,
        new_products_per_day: int,
        new_customers_per_day: int,
        out_of_stock_per_day: int,
        sessions_per_day: float | None = None,
        new_product_search_share: float = 0.15,
        scenario: str = "new_trend",
    ) -> None:
        self.settings = settings
        self.market = OnlineMarketplace.from_lake(settings, seed)
        self._city = self._stored_cities()
        self.seed = seed
        self.sessions_per_day = (
            sessions_per_day
            if sessions_per_day is not None
            else get_scale(str(self.market.truth.meta["scale"])).sessions_per_day
        )
        """Expected sessions on an average day (default: the generated data's scale's)."""
        self.new_products_per_day = new_products_per_day
        self.new_customers_per_day = new_customers_per_day
        self.out_of_stock_per_day = out_of_stock_per_day
        self.new_product_search_share = new_product_search_share
        self.scenario = scenario
        self.taxonomy = build_taxonomy()
        with Warehouse.from_settings(settings) as warehouse:
            self.catalog = warehouse.df(
                "SELECT * FROM catalog QUALIFY row_number() OVER (PARTITION BY product_id "
                "ORDER BY updated_at DESC) = 1 ORDER BY product_id"
            )
            self.users = warehouse.df("SELECT * FROM users ORDER BY user_id")
            active = warehouse.df(
                "SELECT DISTINCT user_id FROM events "
                "WHERE ts >= (SELECT max(ts) FROM events) - INTERVAL 28 DAY ORDER BY user_id"
            )
            devices = warehouse.df(
                "SELECT user_id, device, count(DISTINCT session_id) AS n FROM events "
                "GROUP BY user_id, device ORDER BY user_id, n DESC, device"
            )
        self.customers = [str(u) for u in active["user_id"]]
        self._device = self._main_devices(devices)
        self.fresh: dict[str, int] = {}
        """New products by the day they arrived."""
        self.start = dt.date.fromisoformat(self.market.truth.meta["end_date"]) + dt.timedelta(days=1)
        queries = self.market.truth.queries
        self._query_text = queries["query"].astype(str).to_numpy()
        self._query_id = queries["query_id"].astype(str).to_numpy()
        self._query_weight = queries["n_searches"].astype(float).clip(lower=1.0).to_numpy()
        self._query_l2 = self.truth.products.l2[self.truth.product_rows(queries["product_id"].astype(str))]
        self._queries_of_l2 = {
            int(l2): np.flatnonzero(self._query_l2 == l2) for l2 in np.unique(self._query_l2)
        }

    def _main_devices(self, counts: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Each customer's main device (index into ``DEVICES``): the one most of their sessions
        in the lake used; customers without sessions get one drawn with the generator's shares."""
        n = self.truth.world.user_vec.shape[0]
        rng = self._rng(0, 3)
        device = np.asarray(rng.choice(len(DEVICES), n, p=np.array(DEVICE_SHARES)), dtype=np.int64)
        main = counts.drop_duplicates("user_id")
        rows = self.truth.user_rows(main["user_id"].astype(str).to_numpy())
        device[rows] = [DEVICES.index(str(d)) for d in main["device"]]
        return np.asarray(device, dtype=np.int64)

    def _stored_cities(self) -> np.ndarray[Any, Any]:
        fs, path = filesystem(truth_url(self.settings, "world.npz"))
        with fs.open(path, "rb") as handle, np.load(io.BytesIO(handle.read()), allow_pickle=False) as npz:
            return np.asarray(npz["users__city"])

    def save(self) -> None:
        """Write the grown (or drifted) world to ``truth/world.npz``: what the pipelines'
        truth-based evaluations read must know the new products and customers."""
        truth = self.truth
        arrays = {f"world__{k}": v for k, v in truth.world.to_arrays().items()}
        arrays |= {f"product__{k}": np.asarray(getattr(truth.products, k)) for k in PRODUCT_FACTS}
        arrays["users__signup_day"] = truth.user_signup_day
        arrays["users__city"] = self._city
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        write_bytes_atomic(buffer.getvalue(), truth_url(self.settings, "world.npz"))

    @property
    def truth(self) -> Truth:
        return self.market.truth

    def _rng(self, day: int, what: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed & 0xFFFFFFFF, 0x11FE, day, what]))

    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day)

    def _day_t(self, day: int) -> float:
        midnight = dt.datetime.combine(self.date(day), dt.time(), dt.UTC)
        return float(to_days(datetime_to_us(midnight), self.truth.start_us))

    # arrivals ---------------------------------------------------------------------------------

    def switch_drift(self, day: int) -> str:
        """Switch the scenario on in the truth from ``day``; returns what it affects."""
        world = self.truth.world
        plan = plan_drift(
            self.scenario,
            self.taxonomy,
            self.seed,
            int(self._day_t(day)),
            self.date(day),
            world.user_vec.shape[0],
        )
        catalog = cast(Catalog, SimpleNamespace(n=self.truth.products.leaf.size, l2=self.truth.products.l2))
        drifted = apply_drift(world, plan, self.taxonomy, catalog, self.seed)
        self.market.truth = replace(self.truth, world=replace(drifted, drift_start=self._day_t(day)))
        self.save()
        return f"{self.scenario}: {', '.join(plan.affected_l2 or plan.affected_l1) or plan.city}"

    def arrivals(self, day: int, at: dt.datetime) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
        """(catalog rows: new products and the ones going out of stock, new users rows, the ids
        of the products out of stock) of ``day``; the truth grows with them."""
        rng = self._rng(day, 1)
        truth = self.truth
        n_old = truth.products.leaf.size
        in_stock = np.flatnonzero(truth.products.stock[:n_old] > 0)
        sources = rng.choice(in_stock, self.new_products_per_day, replace=False)
        new_rows = np.arange(n_old, n_old + sources.size)
        new_ids = [str(p) for p in format_ids(PRODUCT_ID[0], new_rows, PRODUCT_ID[1])]
        world, facts = new_editions(truth.world, truth.products, sources, rng, datetime_to_us(at))
        facts.stock[new_rows] = np.maximum(facts.stock[new_rows], 5)
        gone = rng.choice(in_stock, self.out_of_stock_per_day, replace=False)
        gone = gone[~np.isin(gone, sources)]
        facts.stock[gone] = 0
        users, user_rows = self._new_users(rng, day, world)
        world = users
        self.market.truth = replace(
            truth,
            world=world,
            products=facts,
            user_signup_day=appended(truth.user_signup_day, np.full(len(user_rows), int(self._day_t(day)))),
        )
        by_id = self.catalog.set_index("product_id")
        source_ids = [str(p) for p in format_ids(PRODUCT_ID[0], sources, PRODUCT_ID[1])]
        added = by_id.loc[source_ids].reset_index()
        added["product_id"] = new_ids
        added["title"] = added["title"].astype(str) + " · nueva edición"
        added["stock"] = facts.stock[new_rows]
        added["created_at"] = at
        added["updated_at"] = at
        gone_ids = [str(p) for p in format_ids(PRODUCT_ID[0], gone, PRODUCT_ID[1])]
        out = by_id.loc[[g for g in gone_ids if g in by_id.index]].reset_index()
        out["stock"] = 0
        out["updated_at"] = at
        self.catalog = pd.concat([self.catalog, added], ignore_index=True)
        for pid in new_ids:
            self.fresh[pid] = day
        self.customers += list(user_rows["user_id"])
        self.save()
        return pd.concat([added, out], ignore_index=True), user_rows, gone_ids

    def _new_users(self, rng: np.random.Generator, day: int, world: Any) -> tuple[Any, pd.DataFrame]:
        n_old = world.user_vec.shape[0]
        n = self.new_customers_per_day
        sources = rng.choice(n_old, n, replace=False)
        dim = world.user_vec.shape[1]
        vec = world.user_vec[sources] + rng.normal(0, USER_NOISE, (n, dim)).astype(np.float32)
        world = replace(
            world,
            user_vec=np.concatenate([world.user_vec, vec.astype(np.float32)]),
            price_sensitivity=np.concatenate([world.price_sensitivity, world.price_sensitivity[sources]]),
            interest_l2=np.concatenate([world.interest_l2, world.interest_l2[sources]]),
            interest_w=np.concatenate([world.interest_w, world.interest_w[sources]]),
        )
        self._city = np.concatenate([self._city, self._city[sources]])
        self._device = np.concatenate([self._device, self._device[sources]])
        ids = [str(u) for u in format_ids(USER_ID[0], np.arange(n_old, n_old + n), USER_ID[1])]
        source_ids = [str(u) for u in format_ids(USER_ID[0], sources, USER_ID[1])]
        template = self.users.set_index("user_id").loc[source_ids].reset_index()
        template["user_id"] = ids
        template["signup_date"] = self.date(day)
        template["lifetime_value"] = 0.0
        self.users = pd.concat([self.users, template], ignore_index=True)
        return world, template

    # visits -------------------------------------------------------------------------------------

    def visits(self, day: int) -> list[dict[str, Any]]:
        """The day's page requests in time order (module docstring): user, session id, device,
        page (home, recs or search), its time, the list size ``k`` and, on search, the query."""
        rng = self._rng(day, 2)
        n = int(rng.poisson(self.sessions_per_day * day_factor(self.date(day))))
        pick = rng.choice(len(self.customers), n)
        users = [self.customers[int(i)] for i in pick]
        rows = self.truth.user_rows(users)
        day_start = datetime_to_us(self.date(day))
        start_float = session_starts(rng, day_start, np.asarray(CITY_OFFSETS)[self._city[rows]])
        order = np.argsort(start_float, kind="stable")
        users, rows = [users[int(i)] for i in order], rows[order]
        start = start_float.astype(np.int64)[order]
        device = draw_devices(rng, self._device[rows])
        search, count = draw_shapes(rng, n)
        session, ts, page = expand_pages(rng, start, search, count, day_start + US_PER_DAY - 1)
        weights = self._query_weights(day)
        recent = [p for p, d in self.fresh.items() if day - 2 <= d <= day]
        category: dict[int, int] = {}
        out: list[dict[str, Any]] = []
        for j in range(session.size):
            s = int(session[j])
            visit: dict[str, Any] = {
                "user_id": users[s],
                "session_id": f"live-{self.seed}-{day}-{s:05d}",
                "ts": us_to_datetime(int(ts[j])),
                "device": DEVICES[int(device[s])],
                "page": PAGES[int(page[j])],
                "k": SEARCH_K if page[j] == PAGE_SEARCH else BROWSE_K,
            }
            if page[j] == PAGE_SEARCH:
                visit |= self._search(rng, s, category, weights, recent)
            out.append(visit)
        out.sort(key=lambda v: v["ts"])
        return out

    def _query_weights(self, day: int) -> np.ndarray[Any, Any]:
        """The truth's queries weighted by traffic × the intent shift in force on ``day``."""
        shift = self.truth.world.l2_shift[self._query_l2] * (self._day_t(day) >= self.truth.world.drift_start)
        return np.asarray(self._query_weight * np.exp(shift))

    def _search(
        self,
        rng: np.random.Generator,
        session: int,
        category: dict[int, int],
        weights: np.ndarray[Any, Any],
        recent: list[str],
    ) -> dict[str, Any]:
        """One search of ``session``: its first a truth query or a recent product's noun and
        brand; the next ones a truth query of the category the first one chose."""
        if session not in category:
            if recent and rng.random() < self.new_product_search_share:
                product = recent[int(rng.integers(len(recent)))]
                row = self.truth.product_rows([product])[0]
                category[session] = int(self.truth.products.l2[row])
                return {"query": self._product_query(product), "query_id": None}
            q = int(rng.choice(weights.size, p=weights / weights.sum()))
            category[session] = int(self._query_l2[q])
        else:
            pool = self._queries_of_l2.get(category[session], np.arange(weights.size))
            q = int(pool[rng.choice(pool.size, p=weights[pool] / weights[pool].sum())])
        return {"query": str(self._query_text[q]), "query_id": str(self._query_id[q])}

    def _product_query(self, product_id: str) -> str:
        """What a shopper who heard of the product types: its leaf's noun and its brand."""
        row = self.truth.product_rows([product_id])[0]
        leaf = self.taxonomy.leaves[int(self.truth.products.leaf[row])]
        brand = self.taxonomy.brand_names[int(self.truth.products.brand[row])]
        return f"{leaf.noun} {brand}".lower()

    # answers ------------------------------------------------------------------------------------

    def respond(self, user_id: str, shown: list[str], context: dict[str, Any]) -> list[dict[str, Any]]:
        """The online market's events for the list, none later than the end of the list's day
        (as the generator's: a late session's clicks and purchases do not spill into a day
        the shop has not opened yet)."""
        events = self.market.respond(user_id, shown, context)
        at = context.get("ts")
        if not isinstance(at, dt.datetime):
            return events
        day_end = dt.datetime.combine(at.date() + dt.timedelta(days=1), dt.time(), at.tzinfo) - dt.timedelta(
            microseconds=1
        )
        return [{**e, "ts": min(e["ts"], day_end)} for e in events]

    def utility(self, user_id: str, shown: list[str], at: dt.datetime) -> float:
        """Mean true utility of ``shown`` for ``user_id`` at ``at`` (the truth's judgement)."""
        rows = self.truth.product_rows(shown)
        users = np.repeat(self.truth.user_rows([user_id]), rows.size)
        t = to_days(datetime_to_us(at), self.truth.start_us)
        return float(np.mean(self.truth.world.utility(users, rows, t))) if rows.size else 0.0

    def best_utility(self, user_id: str, k: int, at: dt.datetime) -> float:
        """Mean true utility of the ``k`` best in-stock products for ``user_id`` at ``at``: the
        truth's best list, what the served lists' utility is measured against."""
        products = np.flatnonzero(self.truth.products.stock > 0)
        k = min(k, products.size)
        if k <= 0:
            return 0.0
        users = np.repeat(self.truth.user_rows([user_id]), products.size)
        t = to_days(datetime_to_us(at), self.truth.start_us)
        utility = self.truth.world.utility(users, products, t)
        return float(np.mean(np.partition(utility, products.size - k)[products.size - k :]))

    def price(self, product_id: str, at: dt.datetime) -> float:
        row = self.truth.product_rows([product_id])
        t = to_days(datetime_to_us(at), self.truth.start_us)
        return float(self.truth.products.base_price[row][0] * self.truth.world.price_factor(row, t)[0])

    def search_judge(self) -> TruthSearchJudge:
        """The truth as it is now (every arrival and the drift in it) as a judge of searches."""
        return TruthSearchJudge(self.truth, self.seed)
