"""Online mode: answer "the user saw this ranked list; what did they do?" from the truth.

The responses come from the *same* position-based click model as the batch logs
(:class:`.clickmodel.ClickModel` with the parameters saved in ``truth/meta.json``) and the
same true utility, so an A/B test, a shadow run or an interleaving experiment run against
it has a known right answer. One generator, seeded once, serves every call: the same seed
and the same sequence of calls give the same events.

Relevance on search pages: the query's hidden target when ``context["query_id"]`` names a
known query, or when the query text was generated before (one of its targets is drawn);
otherwise a rule on the words: 1 if the product's category noun is in the query, +1 if its
brand is too (a brand alone gives 1). Accents and case are ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vitrina.adapters.lake.truth import PRODUCT_ID, Truth, load_truth, to_days
from vitrina.config import Settings
from vitrina.core.tables import DEVICES, EVENT_TYPES
from vitrina.simulator.common import US_PER_SECOND, IntArray, datetime_to_us, format_ids, us_to_datetime
from vitrina.simulator.taxonomy import build_taxonomy
from vitrina.simulator.truth import click_model, query_relevance
from vitrina.simulator.vocabulary import strip_accents

LIST_PAGES = ("home", "recs", "search")


class OnlineMarketplace:
    """Simulated users answering ranked lists, reproducibly for a seed."""

    def __init__(self, truth: Truth, seed: int) -> None:
        self.truth = truth
        self.seed = seed
        self.model = click_model(truth)
        self._rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 0x0E11E]))
        end = dt.date.fromisoformat(truth.meta["end_date"]) + dt.timedelta(days=1)
        self._clock_us = datetime_to_us(end)
        self._calls = 0
        self._events = 0
        by_text: dict[str, list[str]] = {}
        for qid, text in zip(truth.queries["query_id"], truth.queries["query"], strict=True):
            by_text.setdefault(str(text), []).append(str(qid))
        self._by_text = by_text
        taxonomy = build_taxonomy()
        self._nouns = [strip_accents(leaf.noun.lower()) for leaf in taxonomy.leaves]
        self._brands = [strip_accents(b.lower()) for b in taxonomy.brand_names]

    @classmethod
    def from_lake(cls, settings: Settings, seed: int) -> OnlineMarketplace:
        """Load the truth written by ``vitrina data generate`` under ``settings.lake``."""
        return cls(load_truth(settings), seed)

    def _grades(self, products: IntArray, context: Mapping[str, Any]) -> IntArray:
        query_id = context.get("query_id")
        text = str(context.get("query") or "").strip()
        if query_id is None and text in self._by_text:
            options = self._by_text[text]
            query_id = options[int(self._rng.integers(len(options)))]
        if query_id is not None:
            grades = query_relevance(
                self.truth, np.full(products.size, str(query_id)), self._product_ids(products)
            )
            return grades.astype(np.int64)
        words = f" {strip_accents(text.lower())} "
        leaf_hit = np.array([f" {noun} " in words for noun in self._nouns])
        brand_hit = np.array([f" {brand} " in words for brand in self._brands])
        facts = self.truth.products
        leaf_ok = leaf_hit[facts.leaf[products]]
        brand_ok = brand_hit[facts.brand[products]]
        return np.where(leaf_ok, 1 + brand_ok, np.where(brand_ok & ~leaf_hit.any(), 1, 0)).astype(np.int64)

    def _product_ids(self, products: IntArray) -> list[str]:
        return list(format_ids(PRODUCT_ID[0], products, PRODUCT_ID[1]))

    def expected_ctr(self, user_id: str, shown_product_ids: Sequence[str]) -> float:
        """P(at least one click) of ``user_id`` on a recs page showing ``shown_product_ids``, from
        the click model and the true utility on the day after the window: what an A/B test of
        two recommenders should find (no randomness, no clock advance)."""
        products = self.truth.product_rows(list(shown_product_ids))
        n = products.size
        if n == 0:
            return 0.0
        end = dt.date.fromisoformat(self.truth.meta["end_date"]) + dt.timedelta(days=1)
        t = float(to_days(datetime_to_us(end), self.truth.start_us))
        utility = self.truth.world.utility(np.repeat(self.truth.user_rows([user_id]), n), products, t)
        clicks = self.model.examination(np.arange(1, n + 1)) * self.model.click_given_examined(
            utility, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        )
        return float(1.0 - np.prod(1.0 - clicks))

    def expected_search_clicks(
        self, user_id: str, shown_product_ids: Sequence[str], query_id: str, ts: dt.datetime
    ) -> float:
        """Expected clicks of ``user_id`` on a search page showing ``shown_product_ids`` for the
        truth's query ``query_id`` at ``ts``: the click model's examination × click probability
        from the true utility and the query's relevance grades — what the same search would
        bring on average under another ranking (no randomness, no clock advance)."""
        products = self.truth.product_rows(list(shown_product_ids))
        n = products.size
        if n == 0:
            return 0.0
        t = float(to_days(datetime_to_us(ts), self.truth.start_us))
        utility = self.truth.world.utility(np.repeat(self.truth.user_rows([user_id]), n), products, t)
        grades = query_relevance(self.truth, np.full(n, str(query_id)), self._product_ids(products))
        clicks = self.model.examination(np.arange(1, n + 1)) * self.model.click_given_examined(
            utility, grades.astype(np.int64), np.ones(n, dtype=bool)
        )
        return float(clicks.sum())

    def respond(
        self, user_id: str, shown_product_ids: Sequence[str], context: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Events (``events`` schema rows as dicts) for ``user_id`` shown ``shown_product_ids``.

        ``context`` may hold ``page`` (home, recs or search; default recs), ``query`` and
        ``query_id`` (search), ``ts`` (datetime; default an internal clock that starts the
        day after the simulated window and advances one second per call), ``session_id``,
        ``request_id`` and ``device``. Raises ``ValueError`` on unknown ids or pages.
        """
        page = str(context.get("page", "recs"))
        if page not in LIST_PAGES:
            raise ValueError(f"page must be one of {', '.join(LIST_PAGES)}, got {page!r}")
        device = str(context.get("device", "mobile"))
        if device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
        user = self.truth.user_rows([user_id])
        products = self.truth.product_rows(list(shown_product_ids))
        self._calls += 1
        ts = context.get("ts")
        now_us = datetime_to_us(ts) if ts is not None else self._clock_us
        self._clock_us += US_PER_SECOND
        session_id = str(context.get("session_id") or f"onl-ses-{self.seed}-{self._calls:07d}")
        request_id = str(context.get("request_id") or f"onl-req-{self.seed}-{self._calls:07d}")
        n = products.size
        if n == 0:
            return []
        t = float(to_days(now_us, self.truth.start_us))
        search = page == "search"
        grades = self._grades(products, context) if search else np.zeros(n, dtype=np.int64)
        utility = self.truth.world.utility(np.repeat(user, n), products, t)
        price = self.truth.products.base_price[products] * self.truth.world.price_factor(products, t)
        position = np.arange(1, n + 1)
        clicked, carted, bought = self.model.sample(
            self._rng.random((n, 3)), position, utility, grades, np.full(n, search), price,
            self.truth.products.stock[products] > 0,
        )  # fmt: skip
        _, first = np.unique(products[bought], return_index=True)
        once = np.zeros(n, dtype=bool)
        once[np.flatnonzero(bought)[first]] = True
        delays = self._rng.uniform((2, 10, 30), (40, 180, 600), (n, 3)) * US_PER_SECOND
        t_click = now_us + delays[:, 0].astype(np.int64)
        t_cart = t_click + delays[:, 1].astype(np.int64)
        t_buy = t_cart + delays[:, 2].astype(np.int64)
        rows: list[tuple[int, int, int, str, int | None]] = []
        for i in range(n):
            rows.append((now_us, 0, i, page, int(position[i])))
            if clicked[i]:
                rows.append((int(t_click[i]), 1, i, page, int(position[i])))
            if carted[i]:
                rows.append((int(t_cart[i]), 2, i, "pdp", None))
            if once[i]:
                rows.append((int(t_buy[i]), 3, i, "cart", None))
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        events = []
        for ts_us, kind, i, event_page, pos in rows:
            self._events += 1
            events.append(
                {
                    "event_id": f"onl-{self.seed}-{self._events:09d}",
                    "user_id": user_id,
                    "product_id": shown_product_ids[i],
                    "event_type": EVENT_TYPES[kind],
                    "ts": us_to_datetime(ts_us),
                    "session_id": session_id,
                    "device": device,
                    "page": event_page,
                    "position": pos,
                    "request_id": request_id,
                }
            )
        return events
