"""Marketplace traffic for the load benchmark: autocomplete keystrokes and filtered searches.

* ``/suggest``: every query of the traffic typed keystroke by keystroke, as a search box asks
  while the shopper types — each prefix of 2 characters or more (capped at 12 per query),
  with the user id on a third of them (personalised suggestions);
* filtered ``/search``: each query with one or two filters drawn from the served catalog — a
  category of any level, a brand among the 50 most stocked, a price band between two
  quantiles — a sort (relevance, price up, price down, newest, equally often), the facets,
  and the first or the second page (an offset of 0 or 20).

Draws are seeded, so two runs ask the same requests.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import numpy as np
import pandas as pd

from vitrina.adapters.models.index_versions import current_version, version_folder
from vitrina.config import get_settings
from vitrina.core.search.products import ProductTable
from vitrina.core.search.sorting import SORTS

MAX_PREFIXES = 12


def served_products(home: Path) -> pd.DataFrame:
    settings = get_settings(home=home)
    name = current_version(settings)
    if name is None:
        raise SystemExit(f"{home} serves no search index: run `vitrina train search` first")
    return ProductTable.load(version_folder(settings, name)).frame


def suggest_paths(queries: list[str], users: list[str], *, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    paths = []
    for query in queries:
        text = query.strip()
        for end in range(2, min(len(text), MAX_PREFIXES + 1) + 1):
            params = {"q": text[:end]}
            if users and rng.random() < 1 / 3:
                params["user_id"] = users[int(rng.integers(len(users)))]
            if params["q"].strip():
                paths.append(f"/suggest?{urllib.parse.urlencode(params)}")
    return paths


def filtered_search_paths(queries: list[str], products: pd.DataFrame, *, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    stocked = products[products["stock"] > 0]
    levels = [
        [str(v) for v in stocked[c].dropna().unique() if str(v)]
        for c in ("category_l1", "category_l2", "category_l3")
    ]
    brands = [str(b) for b in stocked["brand"].value_counts().index[:50] if str(b)]
    prices = stocked["price"].dropna().to_numpy(dtype=float)
    paths = []
    for query in queries:
        params: list[tuple[str, str]] = [("q", query), ("facets", "true")]
        for kind in rng.choice(["category", "brand", "price"], size=int(rng.integers(1, 3)), replace=False):
            if kind == "category":
                level = levels[int(rng.integers(3))]
                params.append(("category", level[int(rng.integers(len(level)))]))
            elif kind == "brand" and brands:
                params.append(("brand", brands[int(rng.integers(len(brands)))]))
            elif prices.size:
                low, high = sorted(np.quantile(prices, rng.random(2)).tolist())
                params += [("price_min", f"{low:.2f}"), ("price_max", f"{high:.2f}")]
        params.append(("sort", str(SORTS[int(rng.integers(len(SORTS)))])))
        if rng.random() < 0.25:
            params.append(("offset", "20"))
        paths.append(f"/search?{urllib.parse.urlencode(params)}")
    return paths
