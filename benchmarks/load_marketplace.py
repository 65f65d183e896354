"""Marketplace traffic for the load benchmark: autocomplete keystrokes and filtered searches.

* ``/suggest``: every query of the traffic typed keystroke by keystroke, as a search box asks
  while the shopper types — each prefix of 2 characters or more (capped at 12 per query),
  with the user id on a third of them (personalised suggestions);
* filtered ``/search``: each query with one or two filters as a shopper picks them from the
  facets of that query — drawn from a product whose title has the query's first word (any
  product when none has it): its category at a random level, its brand, or a price band around
  its price — a sort (relevance, price up, price down, newest, equally often), the facets, and
  the first or the second page (an offset of 0 or 20).

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
from vitrina.core.search.text import normalise

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
    stocked = products[(products["stock"] > 0) & products["price"].notna()].reset_index(drop=True)
    having: dict[str, list[int]] = {}
    for row, title in enumerate(stocked["title"].astype(str)):
        for word in set(normalise(title).split()):
            having.setdefault(word, []).append(row)
    paths = []
    for query in queries:
        words = normalise(query).split()
        rows = having.get(words[0], []) if words else []
        pick = stocked.iloc[rows[int(rng.integers(len(rows)))] if rows else int(rng.integers(len(stocked)))]
        params: list[tuple[str, str]] = [("q", query), ("facets", "true")]
        for kind in rng.choice(["category", "brand", "price"], size=int(rng.integers(1, 3)), replace=False):
            if kind == "category":
                params.append(("category", str(pick[f"category_l{int(rng.integers(1, 4))}"])))
            elif kind == "brand" and str(pick["brand"]):
                params.append(("brand", str(pick["brand"])))
            else:
                price = float(pick["price"])
                params += [("price_min", f"{price * 0.5:.2f}"), ("price_max", f"{price * 1.5:.2f}")]
        params.append(("sort", str(SORTS[int(rng.integers(len(SORTS)))])))
        if rng.random() < 0.25:
            params.append(("offset", "20"))
        paths.append(f"/search?{urllib.parse.urlencode(params)}")
    return paths
